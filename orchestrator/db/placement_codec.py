"""An exercise's constraints and placement as stored: the one place they are turned into JSON and back.

The JSON keys of the constraints are the API's (`capabilities`, `country_affinity`, `strategy`), so a stored
row reads the same as the request that made it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.base import Resources
from orchestrator.placement.request import Affinity, Constraints
from orchestrator.placement.result import Assignment, Placement, RangeOutcome, Verdict


def constraints_to_json(constraints: Constraints, *, strategy: str) -> dict[str, Any]:
    c = constraints
    return {
        "capabilities": sorted(c.required_capabilities),
        "allowed_countries": sorted(c.allowed_countries),
        "include_ranges": sorted(c.include_ranges),
        "exclude_ranges": sorted(c.exclude_ranges),
        "min_ranges": c.min_ranges,
        "max_ranges": c.max_ranges,
        "max_teams_per_range": c.max_teams_per_range,
        "country_affinity": c.affinity is Affinity.OWN_COUNTRY,
        "strategy": strategy,
    }


def constraints_from_json(data: Mapping[str, Any]) -> tuple[Constraints, str]:
    """The constraints and the strategy name."""
    constraints = Constraints(
        required_capabilities=frozenset(data.get("capabilities", ())),
        allowed_countries=frozenset(data.get("allowed_countries", ())),
        include_ranges=frozenset(data.get("include_ranges", ())),
        exclude_ranges=frozenset(data.get("exclude_ranges", ())),
        min_ranges=int(data.get("min_ranges", 1)),
        max_ranges=data.get("max_ranges"),
        max_teams_per_range=data.get("max_teams_per_range"),
        affinity=Affinity.OWN_COUNTRY if data.get("country_affinity", True) else Affinity.NONE,
    )
    return constraints, str(data.get("strategy", "spread"))


def _verdict(v: Verdict) -> dict[str, Any]:
    return {"ok": v.ok, "reasons": list(v.reasons)}


def _verdict_of(data: Mapping[str, Any]) -> Verdict:
    return Verdict(bool(data["ok"]), tuple(data.get("reasons", ())))


def placement_to_json(p: Placement) -> dict[str, Any]:
    return {
        "exercise": p.exercise,
        "feasible": p.feasible,
        "strategy": p.strategy,
        "assignments": [
            {"team": a.team, "range_id": a.range_id, "range_slug": a.range_slug, "affinity": a.affinity}
            for a in p.assignments
        ],
        "ranges": [
            {
                "range_id": o.range_id,
                "range_slug": o.range_slug,
                "verdict": _verdict(o.verdict),
                "verdicts": {name: _verdict(v) for name, v in o.verdicts.items()},
                "room": o.room,
                "score": o.score,
                "scores": dict(o.scores),
                "approval_required": o.approval_required,
                "teams": o.teams,
                "demand": o.demand.as_dict(),
            }
            for o in p.ranges
        ],
        "constraint_reasons": list(p.constraint_reasons),
        "affinity_met": p.affinity_met,
    }


def placement_from_json(data: Mapping[str, Any]) -> Placement:
    return Placement(
        exercise=data["exercise"],
        feasible=bool(data["feasible"]),
        strategy=data["strategy"],
        assignments=tuple(
            Assignment(
                team=a["team"],
                range_id=a["range_id"],
                range_slug=a["range_slug"],
                affinity=bool(a.get("affinity", False)),
            )
            for a in data.get("assignments", ())
        ),
        ranges=tuple(
            RangeOutcome(
                range_id=o["range_id"],
                range_slug=o["range_slug"],
                verdict=_verdict_of(o["verdict"]),
                verdicts={name: _verdict_of(v) for name, v in o.get("verdicts", {}).items()},
                room=int(o.get("room", 0)),
                score=int(o.get("score", 0)),
                scores={k: int(v) for k, v in o.get("scores", {}).items()},
                approval_required=bool(o.get("approval_required", False)),
                teams=int(o.get("teams", 0)),
                demand=Resources.from_dict(o.get("demand", {})),
            )
            for o in data.get("ranges", ())
        ),
        constraint_reasons=tuple(data.get("constraint_reasons", ())),
        affinity_met=int(data.get("affinity_met", 0)),
    )
