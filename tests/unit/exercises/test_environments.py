"""Fair share for environments: a launch or a renewal runs at most the TTL cap ahead of now, and an
environment lives at most the lifetime cap in all; each refusal names its field and says how much is left."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orchestrator.domain.errors import InvalidInput
from orchestrator.exercises.environments import EnvironmentLimits, EnvironmentService
from orchestrator.exercises.service import ExerciseService
from tests.unit.exercises.world import PLUGINS, Federation

LIMITS = EnvironmentLimits(max_ttl=timedelta(hours=2), max_lifetime=timedelta(hours=5))


def _service(fed: Federation, unit: object) -> EnvironmentService:
    exercises = ExerciseService(unit=unit, clock=fed.clock, plugins=PLUGINS)  # type: ignore[arg-type]
    return EnvironmentService(exercises=exercises, clock=fed.clock, limits=LIMITS)


def _launch(fed: Federation, ttl: timedelta) -> str:
    with fed.world.transactions() as unit:
        return _service(fed, unit).launch(fed.trainer, scenario="ctf-starter", ttl=ttl).exercise.id


def _renew(fed: Federation, environment_id: str, extra: timedelta) -> None:
    with fed.world.transactions() as unit:
        _service(fed, unit).renew(fed.trainer, environment_id, extra=extra)


def test_a_launch_beyond_the_ttl_cap_is_refused_on_its_field(fed: Federation) -> None:
    with pytest.raises(InvalidInput) as refused:
        _launch(fed, timedelta(hours=2, minutes=1))
    [problem] = refused.value.problems
    assert problem.field == "ttl_minutes" and "at most 120 minutes" in problem.reason
    _launch(fed, timedelta(hours=2))  # the cap itself is allowed


def test_renewals_stay_within_the_ttl_cap_ahead_of_now_and_the_lifetime_cap(fed: Federation) -> None:
    environment_id = _launch(fed, timedelta(hours=1))
    with pytest.raises(InvalidInput) as ahead:
        _renew(fed, environment_id, timedelta(hours=1, minutes=30))  # would end 2 h 30 min from now
    [problem] = ahead.value.problems
    assert problem.field == "minutes" and "at most 60 more minutes now" in problem.reason

    _renew(fed, environment_id, timedelta(hours=1))  # ends 2 h from now: allowed
    fed.clock.advance(timedelta(hours=1, minutes=30))
    _renew(fed, environment_id, timedelta(hours=1, minutes=30))  # ends at 3 h 30 min of life
    fed.clock.advance(timedelta(hours=1))
    _renew(fed, environment_id, timedelta(hours=1))  # ends at 4 h 30 min of life, 2 h from now
    fed.clock.advance(timedelta(hours=1))
    with pytest.raises(InvalidInput) as lifetime:
        _renew(fed, environment_id, timedelta(hours=1))  # 2 h ahead, but 5 h 30 min of life
    [problem] = lifetime.value.problems
    assert problem.field == "minutes" and "at most 300 minutes in all" in problem.reason
    assert "at most 30 more minutes" in problem.reason
    _renew(fed, environment_id, timedelta(minutes=30))  # exactly the lifetime cap
    with fed.world.transactions() as unit:
        exercise = unit.exercises.get_exercise(environment_id)
    assert exercise is not None and exercise.end - exercise.start == LIMITS.max_lifetime
