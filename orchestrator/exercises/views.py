"""Secret-free views of exercises for audit events (never flags, passwords or connector secrets)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orchestrator.exercises.model import Exercise, Instance


def exercise_view(exercise: Exercise, instances: Sequence[Instance]) -> dict[str, Any]:
    return {
        "id": exercise.id,
        "kind": exercise.kind.value,
        "name": exercise.name,
        "scenario": exercise.scenario.ref,
        "start": exercise.start.isoformat(),
        "end": exercise.end.isoformat(),
        "status": exercise.status.value,
        "teams": [{"team": i.team, "range_id": i.range_id, "instance": i.id} for i in instances],
    }
