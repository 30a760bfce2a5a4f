"""The last step of every import: the generated document must be a valid scenario."""

from __future__ import annotations

from typing import Any

from scenarios.errors import ScenarioError
from scenarios.importers.report import ImportRefused
from scenarios.loader import from_data
from scenarios.model import Scenario


def validated(document: dict[str, Any], *, source: str) -> Scenario:
    """Validate an imported document; an invalid result is refused with every document-path problem."""
    try:
        return from_data(document, source=source)
    except ScenarioError as exc:
        details = "; ".join(str(p) for p in exc.problems)
        raise ImportRefused(f"the imported scenario is not valid: {details}", source=source) from exc
