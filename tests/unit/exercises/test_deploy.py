"""Creating and deploying an exercise on the in-memory unit of work (frozen clock, fake ranges)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from orchestrator.domain.bookings import BookingStatus
from orchestrator.domain.errors import InvalidInput, Refused
from orchestrator.exercises import schedule
from orchestrator.exercises.model import ExerciseStatus, Stage, StageOutcome
from orchestrator.exercises.service import ExerciseService
from tests.unit.exercises.world import PLUGINS, Federation


def _bookings(fed: Federation, exercise_id: str) -> dict[str, BookingStatus]:
    with fed.world.transactions() as unit:
        return {b.range_slug: b.status for b in unit.booking.store.bookings_of_request(exercise_id)}


def test_create_places_books_every_range_at_once_and_schedules_the_deploys(fed: Federation) -> None:
    detail = fed.create(fed.draft(3))
    exercise = detail.exercise
    assert exercise.status is ExerciseStatus.SCHEDULED
    assert sorted(a.range_slug for a in exercise.placement.assignments) == [
        "ee-range",
        "ee-range",
        "lv-range",
    ]
    assert _bookings(fed, exercise.id) == {
        "ee-range": BookingStatus.CONFIRMED,
        "lv-range": BookingStatus.CONFIRMED,
    }
    with fed.world.transactions() as unit:
        deploys = [
            a
            for i in unit.exercises.instances_of(exercise.id)
            for a in unit.actions.list_for(object_kind="instance", object_id=i.id)
        ]
        kinds = {a.kind for a in unit.actions.list_for(object_kind="exercise", object_id=exercise.id)}
    assert [a.kind for a in deploys] == [schedule.DEPLOY] * 3
    assert {a.due_at for a in deploys} == {exercise.deploy_at}
    assert kinds == {schedule.TEARDOWN, schedule.WARN, schedule.READY_DEADLINE}


def test_the_strategy_is_a_placement_strategy_by_name(fed: Federation) -> None:
    packed = fed.create(fed.draft(2, strategy="first-fit")).exercise
    assert {a.range_slug for a in packed.placement.assignments} == {"ee-range"}
    with pytest.raises(InvalidInput) as refused:
        fed.create(fed.draft(2, strategy="random"))
    assert refused.value.problems[0].field == "constraints.strategy"
    assert "known: first-fit, pack, spread, weighted" in refused.value.problems[0].reason


def test_a_refused_creation_leaves_nothing_behind(fed: Federation) -> None:
    with pytest.raises(Refused) as refused:
        fed.create(fed.draft(5))  # four slots in the federation
    assert refused.value.reasons[0].startswith("5 teams need 5 slots, eligible ranges hold 4")
    with fed.world.transactions() as unit:
        assert unit.exercises.list_exercises(owner_organisation_id=None, kind=None, statuses=None) == []
    assert fed.world.state.bookings.bookings == {}


def test_every_team_is_ready_after_its_deploy_time_with_its_endpoints(fed: Federation) -> None:
    exercise = fed.create(fed.draft(3)).exercise
    assert fed.at(exercise.deploy_at - timedelta(seconds=1)) == []
    ran = fed.at(exercise.deploy_at)
    assert ran.count(schedule.DEPLOY) == 3
    instances = fed.instances(exercise.id)
    assert {i.stage for i in instances} == {Stage.READY}
    assert all(i.endpoints and i.ready_at == exercise.deploy_at for i in instances)
    assert _bookings(fed, exercise.id) == {"ee-range": BookingStatus.ACTIVE, "lv-range": BookingStatus.ACTIVE}
    with fed.world.transactions() as unit:
        assert unit.exercises.get_exercise(exercise.id).status is ExerciseStatus.RUNNING  # type: ignore[union-attr]
        history = unit.exercises.stages_of(instances[0].id)
    assert [(r.stage, r.outcome) for r in history] == [
        (Stage.BOOKED, StageOutcome.SUCCEEDED),
        (Stage.DEPLOYING, StageOutcome.SUCCEEDED),
        (Stage.PROVISIONING, StageOutcome.SUCCEEDED),  # ctf-starter plants its flags with a playbook
        (Stage.READY, StageOutcome.RUNNING),
    ]
    assert "SIMULATED range: playbook" in history[2].log
    on_ee = [i.id for i in instances if i.range_id == fed.ranges["ee-range"].id]
    assert sorted(fed.fake_world("ee-range").instances) == sorted(on_ee)


def test_a_failed_deploy_fails_the_team_with_the_ranges_reason_and_a_retry_deploys_it(
    fed: Federation,
) -> None:
    exercise = fed.create(fed.draft(2)).exercise
    fed.fake_world("ee-range").fail_next_deploys("image pull failed: no such image", team="team-1")
    fed.fake_world("lv-range").fail_next_deploys("image pull failed: no such image", team="team-1")
    fed.at(exercise.deploy_at)
    by_team = {i.team: i for i in fed.instances(exercise.id)}
    assert by_team["team-1"].stage is Stage.FAILED
    assert by_team["team-1"].failed_stage is Stage.DEPLOYING
    assert "image pull failed: no such image" in by_team["team-1"].stage_reason
    assert by_team["team-2"].stage is Stage.READY
    with fed.world.transactions() as unit:
        ExerciseService(unit=unit, clock=fed.clock, plugins=PLUGINS).retry(
            fed.trainer, exercise.id, team="team-1"
        )
    fed.run_due()
    assert {i.stage for i in fed.instances(exercise.id)} == {Stage.READY}


def test_a_booking_that_awaits_approval_fails_the_deploy_saying_so(fed: Federation) -> None:
    fed.change_range("lv-range", policy=replace(fed.ranges["lv-range"].policy, approval_required=True))
    exercise = fed.create(fed.draft(2, strategy="spread")).exercise
    fed.at(exercise.deploy_at)
    on_lv = [i for i in fed.instances(exercise.id) if i.range_id == fed.ranges["lv-range"].id]
    assert [i.stage for i in on_lv] == [Stage.FAILED]
    assert on_lv[0].stage_reason == "the booking on range 'lv-range' awaits the operator's approval"
