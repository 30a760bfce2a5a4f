"""Tearing an exercise down at its end, or cancelling it, on the in-memory unit of work."""

from __future__ import annotations

from orchestrator.domain.actions import ActionStatus
from orchestrator.domain.bookings import BookingStatus
from orchestrator.exercises import lifecycle, schedule
from orchestrator.exercises.model import ExerciseStatus, Stage
from orchestrator.exercises.service import ExerciseService
from orchestrator.exercises.stages import enter
from tests.unit.exercises.world import PLUGINS, RETRY_AFTER, Federation, Outage


def _status(fed: Federation, exercise_id: str) -> ExerciseStatus:
    with fed.world.transactions() as unit:
        found = unit.exercises.get_exercise(exercise_id)
        assert found is not None
        return found.status


def _booking_statuses(fed: Federation, exercise_id: str) -> set[BookingStatus]:
    with fed.world.transactions() as unit:
        return {b.status for b in unit.booking.store.bookings_of_request(exercise_id)}


def test_at_the_end_every_instance_is_removed_and_every_booking_released(fed: Federation) -> None:
    exercise = fed.create(fed.draft(3)).exercise
    fed.at(exercise.deploy_at)
    assert fed.fake_world("ee-range").instances and fed.fake_world("lv-range").instances
    ran = fed.at(exercise.end)
    assert ran.count(schedule.TEARDOWN) == 1 and ran.count(schedule.TEARDOWN_INSTANCE) == 3
    assert {i.stage for i in fed.instances(exercise.id)} == {Stage.DONE}
    assert all(i.torn_down_at == exercise.end for i in fed.instances(exercise.id))
    assert _status(fed, exercise.id) is ExerciseStatus.DONE
    assert _booking_statuses(fed, exercise.id) == {BookingStatus.RELEASED}
    assert fed.fake_world("ee-range").instances == {} and fed.fake_world("lv-range").instances == {}


def test_a_teardown_the_range_fails_is_retried_and_the_booking_held_until_it_succeeds(
    fed: Federation,
) -> None:
    exercise = fed.create(fed.draft(1)).exercise
    fed.at(exercise.deploy_at)
    (instance,) = fed.instances(exercise.id)
    real = fed.connectors_built[instance.range_id]
    outage = Outage(real, failures=2, calls=("teardown",))
    fed.connectors_built[instance.range_id] = outage
    fed.at(exercise.end)
    (instance,) = fed.instances(exercise.id)
    assert instance.stage is Stage.TEARING_DOWN
    assert _booking_statuses(fed, exercise.id) == {BookingStatus.ACTIVE}  # the instance may still run
    with fed.world.transactions() as unit:
        log = unit.exercises.stages_of(instance.id)[-1].log
    assert "teardown failed, will retry: the range's API is down" in log
    fed.at(exercise.end + RETRY_AFTER)  # the second attempt fails too
    assert outage.failures == 0
    assert [i.stage for i in fed.instances(exercise.id)] == [Stage.TEARING_DOWN]
    fed.at(exercise.end + 2 * RETRY_AFTER)  # the third works
    assert {i.stage for i in fed.instances(exercise.id)} == {Stage.DONE}
    assert _booking_statuses(fed, exercise.id) == {BookingStatus.RELEASED}
    assert _status(fed, exercise.id) is ExerciseStatus.DONE


def test_cancelling_before_anything_deployed_releases_the_bookings_at_once(fed: Federation) -> None:
    exercise = fed.create(fed.draft(3)).exercise
    with fed.world.transactions() as unit:
        cancelled = ExerciseService(unit=unit, clock=fed.clock, plugins=PLUGINS).cancel(
            fed.trainer, exercise.id
        )
    assert cancelled.status is ExerciseStatus.CANCELLED
    assert _booking_statuses(fed, exercise.id) == {BookingStatus.CANCELLED}
    assert {i.stage for i in fed.instances(exercise.id)} == {Stage.DONE}
    with fed.world.transactions() as unit:
        pending = [a for a in fed.world.state.actions.values() if a.status is ActionStatus.PENDING]
    assert pending == []
    assert fed.at(exercise.deploy_at) == []


def test_cancelling_a_running_exercise_tears_it_down_now_and_ends_it_cancelled(fed: Federation) -> None:
    exercise = fed.create(fed.draft(2)).exercise
    fed.at(exercise.deploy_at)
    with fed.world.transactions() as unit:
        ExerciseService(unit=unit, clock=fed.clock, plugins=PLUGINS).cancel(fed.trainer, exercise.id)
    fed.run_due()
    assert _status(fed, exercise.id) is ExerciseStatus.CANCELLED
    assert _booking_statuses(fed, exercise.id) == {BookingStatus.RELEASED}
    assert {i.stage for i in fed.instances(exercise.id)} == {Stage.DONE}


def test_a_teardown_retried_after_a_crash_between_done_and_settling_still_releases_and_ends(
    fed: Federation,
) -> None:
    """A team's teardown commits the instance DONE, then settles the exercise and gives the booking back
    in a transaction of its own: a process that dies in between leaves the action to be claimed again,
    and the retry must finish the job although the instance is already done."""
    exercise = fed.create(fed.draft(1)).exercise
    fed.at(exercise.deploy_at)
    (instance,) = fed.instances(exercise.id)
    rt = fed.runtime()
    lifecycle.teardown_exercise(rt, exercise.id)
    fed.connectors_built[instance.range_id].teardown(instance_id=instance.id)
    with fed.world.transactions() as unit:  # the step's commit, and then the crash
        found = unit.exercises.get_instance(instance.id)
        assert found is not None
        gone = enter(unit, found, Stage.TEARING_DOWN, now=fed.clock.now())
        enter(unit, gone, Stage.DONE, now=fed.clock.now())
    assert _booking_statuses(fed, exercise.id) == {BookingStatus.ACTIVE}
    lifecycle.teardown_instance(rt, instance.id)  # the action, claimed again
    assert _booking_statuses(fed, exercise.id) == {BookingStatus.RELEASED}
    assert _status(fed, exercise.id) is ExerciseStatus.DONE
