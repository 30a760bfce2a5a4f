"""Exercise events: what the trainer is told (healing results, failures, the end approaching)."""

from __future__ import annotations

import logging
import uuid

from orchestrator.domain.clock import Clock
from orchestrator.exercises.model import ExerciseEvent
from orchestrator.exercises.ports import UnitOfWork

log = logging.getLogger(__name__)


def note(
    unit: UnitOfWork, clock: Clock, exercise_id: str, message: str, *, level: str = "info"
) -> ExerciseEvent:
    log.info("exercise %s: %s", exercise_id, message)
    event = ExerciseEvent(
        id=str(uuid.uuid4()), exercise_id=exercise_id, at=clock.now(), level=level, message=message
    )
    unit.exercises.add_event(event)
    return event
