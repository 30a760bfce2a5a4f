"""Team links carry their token in the URL (a team has nothing else to sign in with), so the server's
access log would keep every link it served. This filter on uvicorn's access logger replaces the token in
each logged path with its public prefix."""

from __future__ import annotations

import logging
import re

TEAM_LINK = re.compile(r"(ftl_[A-Za-z0-9_-]{6})[A-Za-z0-9_-]{37}")


def redact(text: str) -> str:
    return TEAM_LINK.sub(r"\1...", text)


class TeamLinkRedaction(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install() -> None:
    """Once per process, on uvicorn's access logger."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, TeamLinkRedaction) for f in logger.filters):
        logger.addFilter(TeamLinkRedaction())
