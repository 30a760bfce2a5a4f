"""The access log never keeps a team link's token (orchestrator/api/console/redaction.py)."""

from __future__ import annotations

import logging

from orchestrator.api.console.redaction import TeamLinkRedaction
from orchestrator.identity.tokens import TEAM_LINK_PREFIX, generate_token


def test_access_log_lines_keep_only_the_prefix() -> None:
    token = generate_token(TEAM_LINK_PREFIX).plaintext
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/team/{token}", "1.1", 200),
        None,
    )
    assert TeamLinkRedaction().filter(record)
    line = record.getMessage()
    assert token not in line and f"/team/{token[:10]}..." in line
