"""docs/security.md shows the permission table as the code has it: a change to the table that does not
regenerate the page fails here (regenerate: `python -c "from orchestrator.identity.permissions import
markdown_table; print(markdown_table())"`)."""

from __future__ import annotations

from pathlib import Path

from orchestrator.identity.permissions import PERMISSIONS, Action, markdown_table

DOC = Path(__file__).resolve().parents[3] / "docs" / "security.md"


def test_the_security_page_shows_the_permission_table_as_it_stands() -> None:
    page = DOC.read_text(encoding="utf-8")
    assert markdown_table() in page
    # One row per action, and every action is in the table.
    assert set(PERMISSIONS) == set(Action)
    assert sum(1 for line in page.splitlines() if line.startswith("| `")) == len(Action)
