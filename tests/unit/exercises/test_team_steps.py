"""A team's step (deploy, ready, teardown, release) touches that team only: the exercise's status and
its bookings are decided by counting instances per stage, never by loading every instance of the
exercise under its lock (which made an exercise of N teams cost O(N^2))."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from orchestrator.domain.bookings import BookingStatus
from orchestrator.exercises import lifecycle, schedule
from orchestrator.exercises.memory import MemoryExercises
from orchestrator.exercises.model import ExerciseStatus, Instance, Stage
from tests.unit.exercises.world import Federation


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every exercise whose instances were loaded in full (a wrapper on the in-memory store)."""
    seen: list[str] = []
    real = MemoryExercises.instances_of

    def counted(self: MemoryExercises, exercise_id: str) -> Sequence[Instance]:
        seen.append(exercise_id)
        return real(self, exercise_id)

    monkeypatch.setattr(MemoryExercises, "instances_of", counted)
    return seen


def test_deploys_and_teardowns_of_teams_never_load_the_whole_exercise(
    fed: Federation, loads: list[str]
) -> None:
    fed.add_range("fi-range", "FI", 4)
    exercise = fed.create(fed.draft(6)).exercise
    ran = fed.at(exercise.deploy_at)
    assert ran.count(schedule.DEPLOY) == 6
    assert loads == []  # six deploys, each settled the exercise by counting
    with fed.world.transactions() as unit:
        counts = unit.exercises.stage_counts(exercise.id)
        assert unit.exercises.get_exercise(exercise.id).status is ExerciseStatus.RUNNING  # type: ignore[union-attr]
    assert counts == {Stage.READY: 6}

    fed.at(exercise.start)  # the readiness deadline lists the late teams: once per exercise
    loads.clear()
    fed.at(exercise.end)
    assert loads == [exercise.id]  # the exercise's teardown lists its teams once; each team's does not
    with fed.world.transactions() as unit:
        assert unit.exercises.stage_counts(exercise.id) == {Stage.DONE: 6}
        assert unit.exercises.get_exercise(exercise.id).status is ExerciseStatus.DONE  # type: ignore[union-attr]
        statuses = {b.status for b in unit.booking.store.bookings_of_request(exercise.id)}
    assert statuses == {BookingStatus.RELEASED}


def test_a_booking_is_released_only_when_the_last_team_on_it_is_done(fed: Federation) -> None:
    exercise = fed.create(fed.draft(3)).exercise  # ee-range gets two teams, lv-range one
    fed.at(exercise.deploy_at)
    with fed.world.transactions() as unit:
        on_ee = [i for i in unit.exercises.instances_of(exercise.id) if i.range_id == "r-ee-range"]
        booking = on_ee[0].booking_id
        assert booking is not None and len(on_ee) == 2
        by_booking = unit.exercises.stage_counts(exercise.id, booking_id=booking)
    assert by_booking == {Stage.READY: 2}
    lifecycle.teardown_instance(fed.runtime(), on_ee[0].id)
    with fed.world.transactions() as unit:
        (ee,) = [b for b in unit.booking.store.bookings_of_request(exercise.id) if b.id == booking]
        assert ee.status is BookingStatus.ACTIVE  # one team still runs on it
        assert unit.exercises.stage_counts(exercise.id, booking_id=booking) == {Stage.DONE: 1, Stage.READY: 1}
    lifecycle.teardown_instance(fed.runtime(), on_ee[1].id)
    with fed.world.transactions() as unit:
        (ee,) = [b for b in unit.booking.store.bookings_of_request(exercise.id) if b.id == booking]
        assert ee.status is BookingStatus.RELEASED
        assert unit.exercises.get_exercise(exercise.id).status is ExerciseStatus.RUNNING  # type: ignore[union-attr]
