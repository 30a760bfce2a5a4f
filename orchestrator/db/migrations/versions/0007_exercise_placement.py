"""exercises keep their placement (placement's own record) instead of a plan

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 23:40:00

The column `plan` held a summary (assignments, demand per range, rejected ranges by slug); `placement`
holds the placement engine's record (assignments, every range's outcome). Existing rows are converted
here with plain dictionaries: a migration never imports the application's current code, which may
change after it.
"""
from __future__ import annotations

from typing import Any

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

_DIMENSIONS = ("cpu_millicores", "memory_mib", "slots", "gpus")


def _placement(name: str, constraints: dict[str, Any], plan: dict[str, Any]) -> dict[str, Any]:
    assignments = [
        {
            "team": a["team"],
            "range_id": a["range_id"],
            "range_slug": a.get("range", a["range_id"]),
            "affinity": bool(a.get("reason")),
        }
        for a in plan.get("assignments", [])
    ]
    slugs = {a["range_id"]: a["range_slug"] for a in assignments}
    ranges = []
    for range_id, demand in sorted(plan.get("demand", {}).items()):
        teams = sum(1 for a in assignments if a["range_id"] == range_id)
        ranges.append(
            {
                "range_id": range_id,
                "range_slug": slugs.get(range_id, range_id),
                "verdict": {"ok": True, "reasons": []},
                "verdicts": {},
                "room": teams,
                "score": 0,
                "scores": {},
                "approval_required": False,
                "teams": teams,
                "demand": {d: int(demand.get(d, 0)) for d in _DIMENSIONS},
            }
        )
    for slug, reasons in sorted(plan.get("rejected", {}).items()):
        ranges.append(
            {
                "range_id": slug,
                "range_slug": slug,
                "verdict": {"ok": False, "reasons": list(reasons)},
                "verdicts": {"stored": {"ok": False, "reasons": list(reasons)}},
                "room": 0,
                "score": 0,
                "scores": {},
                "approval_required": False,
                "teams": 0,
                "demand": dict.fromkeys(_DIMENSIONS, 0),
            }
        )
    feasible = bool(plan.get("feasible", True))
    rejected = {r for reasons in plan.get("rejected", {}).values() for r in reasons}
    return {
        "exercise": name,
        "feasible": feasible,
        "strategy": constraints.get("strategy", "spread"),
        "assignments": assignments,
        "ranges": ranges,
        "constraint_reasons": [] if feasible else [r for r in plan.get("reasons", []) if r not in rejected],
        "affinity_met": sum(1 for a in assignments if a["affinity"]),
    }


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    with op.batch_alter_table("exercises") as batch:
        batch.add_column(sa.Column("placement", json, nullable=True))
    exercises = sa.table(
        "exercises",
        sa.column("id", sa.String),
        sa.column("name", sa.String),
        sa.column("constraints", json),
        sa.column("plan", json),
        sa.column("placement", json),
    )
    connection = op.get_bind()
    for row in connection.execute(sa.select(exercises.c.id, exercises.c.name, exercises.c.constraints, exercises.c.plan)).all():
        connection.execute(
            exercises.update()
            .where(exercises.c.id == row.id)
            .values(placement=_placement(row.name, row.constraints or {}, row.plan or {}))
        )
    with op.batch_alter_table("exercises") as batch:
        batch.alter_column("placement", existing_type=json, nullable=False)
        batch.drop_column("plan")


def downgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    with op.batch_alter_table("exercises") as batch:
        batch.add_column(sa.Column("plan", json, nullable=True))
    exercises = sa.table(
        "exercises", sa.column("id", sa.String), sa.column("plan", json), sa.column("placement", json)
    )
    connection = op.get_bind()
    for row in connection.execute(sa.select(exercises.c.id, exercises.c.placement)).all():
        p = row.placement or {}
        assignments = p.get("assignments", [])
        plan = {
            "feasible": p.get("feasible", True),
            "assignments": [
                {
                    "team": a["team"],
                    "range_id": a["range_id"],
                    "range": a["range_slug"],
                    "reason": "on a range in its own country" if a.get("affinity") else "",
                }
                for a in assignments
            ],
            "demand": {o["range_id"]: o["demand"] for o in p.get("ranges", []) if o.get("teams", 0) > 0},
            "reasons": list(p.get("constraint_reasons", [])),
            "rejected": {
                o["range_slug"]: o["verdict"]["reasons"]
                for o in p.get("ranges", [])
                if o.get("teams", 0) == 0 and not o["verdict"]["ok"]
            },
            "summary": "",
        }
        connection.execute(exercises.update().where(exercises.c.id == row.id).values(plan=plan))
    with op.batch_alter_table("exercises") as batch:
        batch.alter_column("plan", existing_type=json, nullable=False)
        batch.drop_column("placement")
