"""Ids as people type them: any unique prefix of an id the caller may see (git and docker do the same).

Tables show the first characters of an id (output.short_id); a command given such a prefix lists what
the caller may see of that kind and uses the one id that starts with it. No match, or several, is a
usage error naming them. A full id (or anything that is not hexadecimal) goes to the server unchanged.
"""

from __future__ import annotations

import re
from typing import Any

import typer

from orchestrator.cli import output
from orchestrator.cli.client import ApiClient
from orchestrator.cli.commands import EXIT_FAILED, EXIT_USAGE

_FULL = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_PREFIX = re.compile(r"^[0-9a-f][0-9a-f-]{0,35}$")
MAX_PAGES = 20  # of 500: a prefix is looked up among the caller's latest 10,000 bookings

#: kind -> (list path, query, paginated)
KINDS: dict[str, tuple[str, dict[str, Any], bool]] = {
    "exercise": ("/api/v1/exercises", {}, False),
    "environment": ("/api/v1/environments", {"active": False}, False),
    "booking": ("/api/v1/bookings", {"page_size": 500}, True),
    "token": ("/api/v1/tokens", {}, False),
    "organisation": ("/api/v1/organisations", {}, False),
}


def _listed(client: ApiClient, kind: str) -> list[dict[str, Any]]:
    path, query, paginated = KINDS[kind]
    if not paginated:
        found: list[dict[str, Any]] = client.request("GET", path, params=query)
        return found
    items: list[dict[str, Any]] = []
    for page in range(1, MAX_PAGES + 1):
        data = client.request("GET", path, params={**query, "page": page})
        items += data["items"]
        if len(items) >= data["total"] or not data["items"]:
            break
    return items


def is_prefix(ref: str) -> bool:
    """Whether `ref` can only be the start of an id (hexadecimal, shorter than a whole one)."""
    text = ref.strip().lower()
    return not _FULL.fullmatch(text) and bool(_PREFIX.fullmatch(text))


def resolve(client: ApiClient, kind: str, ref: str) -> str:
    """The full id of the `kind` that `ref` is, or starts, the id of."""
    if not is_prefix(ref):
        return ref
    return pick(kind, ref, [str(r["id"]) for r in _listed(client, kind)])


def pick(kind: str, ref: str, candidates: list[str]) -> str:
    """The one of `candidates` that starts with `ref`; exits 1 (none) or 2 (several) saying so."""
    text = ref.strip().lower()
    matches = sorted({c for c in candidates if c.startswith(text)})
    if len(matches) == 1:
        return matches[0]
    if not matches:
        output.errors.print(
            f"[bold red]no {kind} you may see has an id starting with '{ref}'[/]", highlight=False
        )
    else:
        output.errors.print(
            f"[bold red]'{ref}' is the start of {len(matches)} {kind} ids[/]: {', '.join(matches)}; "
            "give more characters",
            highlight=False,
        )
    raise typer.Exit(EXIT_USAGE if matches else EXIT_FAILED)
