"""Reconciling what the database says runs with what each range reports."""

from __future__ import annotations

from connectors.base import InstanceSpec
from orchestrator.domain.catalogue import RangeRecord
from orchestrator.exercises import reconciler
from orchestrator.exercises.model import Exercise, Stage
from scenarios import library
from tests.unit.exercises.world import RETRY_AFTER, Federation, Outage


def test_a_ready_instance_that_vanished_from_its_range_is_redeployed(fed: Federation) -> None:
    exercise = fed.create(fed.draft(2)).exercise
    fed.at(exercise.deploy_at)
    victim = fed.instances(exercise.id)[0]
    slug = next(s for s, r in fed.ranges.items() if r.id == victim.range_id)
    fed.fake_world(slug).instances.pop(victim.id)  # someone deleted it on the range
    drift = reconciler.reconcile(fed.runtime())
    assert drift.redeployed == [victim.id]
    assert {i.id: i.stage for i in fed.instances(exercise.id)}[victim.id] is Stage.DEPLOYING
    fed.run_due()
    assert {i.stage for i in fed.instances(exercise.id)} == {Stage.READY}
    assert victim.id in fed.fake_world(slug).instances


def test_an_orphan_of_a_known_exercise_is_removed_and_a_stranger_is_left_alone(fed: Federation) -> None:
    exercise = fed.create(fed.draft(1)).exercise
    fed.at(exercise.deploy_at)
    connector = fed.connector(fed.ranges["ee-range"])
    document = library.bundle("ctf-starter").text
    connector.deploy(
        instance=InstanceSpec(
            instance_id="xorphan0001", exercise=exercise.id, team="ghost", scenario_document=document
        )
    )
    connector.deploy(
        instance=InstanceSpec(
            instance_id="xstranger01", exercise="not-ours", team="x", scenario_document=document
        )
    )
    drift = reconciler.reconcile(fed.runtime())
    assert drift.orphans_removed == ["xorphan0001"]
    assert "xstranger01" in fed.fake_world("ee-range").instances
    with fed.world.transactions() as unit:
        assert any(
            "removed orphaned instance xorphan0001" in e.message
            for e in unit.exercises.events_of(exercise.id)
        )


def _running_with_lv_down(
    fed: Federation, failures: int, calls: tuple[str, ...] = ("list_instances",)
) -> tuple[Exercise, RangeRecord]:
    """A two-team exercise deployed, then lv-range's `calls` fail `failures` times."""
    exercise = fed.create(fed.draft(2)).exercise
    fed.at(exercise.deploy_at)
    lv = fed.ranges["lv-range"]
    fed.connectors_built[lv.id] = Outage(fed.connector(lv), failures=failures, calls=calls)
    return exercise, lv


def test_a_range_that_cannot_list_its_instances_is_reported_and_the_others_still_reconciled(
    fed: Federation,
) -> None:
    exercise, _ = _running_with_lv_down(fed, 1)
    victim = next(i for i in fed.instances(exercise.id) if i.range_id == fed.ranges["ee-range"].id)
    fed.fake_world("ee-range").instances.pop(victim.id)
    drift = reconciler.reconcile(fed.runtime())
    assert drift.unreachable == {"lv-range": "the range's API is down"}
    assert drift.redeployed == [victim.id]


def test_the_ready_instances_of_a_range_that_cannot_list_them_are_unknown_until_it_answers_again(
    fed: Federation,
) -> None:
    exercise, lv = _running_with_lv_down(fed, 2)
    on_lv = [i for i in fed.instances(exercise.id) if i.range_id == lv.id]
    assert on_lv and {i.stage for i in on_lv} == {Stage.READY}
    ready_at = {i.id: i.ready_at for i in on_lv}

    drift = reconciler.reconcile(fed.runtime())
    assert sorted(drift.unknown) == sorted(i.id for i in on_lv)
    now = {i.id: i for i in fed.instances(exercise.id)}
    for instance in on_lv:
        assert now[instance.id].stage is Stage.UNKNOWN
        assert now[instance.id].stage_reason == "the range's API is down"
    assert {i.stage for i in now.values() if i.range_id != lv.id} == {Stage.READY}
    # Still down: told once, not again.
    assert reconciler.reconcile(fed.runtime()).unknown == []

    drift = reconciler.reconcile(fed.runtime())  # the range answers, and still has them
    assert sorted(drift.answered) == sorted(i.id for i in on_lv)
    after = {i.id: i for i in fed.instances(exercise.id)}
    for instance in on_lv:
        assert after[instance.id].stage is Stage.READY and after[instance.id].stage_reason == ""
        assert after[instance.id].ready_at == ready_at[instance.id]
    with fed.world.transactions() as unit:
        messages = [e.message for e in unit.exercises.events_of(exercise.id)]
    assert any("unknown: the range's API is down" in m for m in messages)
    assert any("its range answers again" in m for m in messages)


def test_an_unknown_instance_its_range_no_longer_has_is_redeployed(
    fed: Federation,
) -> None:
    exercise, lv = _running_with_lv_down(fed, 1)
    victim, *_ = [i for i in fed.instances(exercise.id) if i.range_id == lv.id]
    reconciler.reconcile(fed.runtime())
    assert {i.id: i.stage for i in fed.instances(exercise.id)}[victim.id] is Stage.UNKNOWN
    fed.fake_world("lv-range").instances.pop(victim.id)  # lost while nobody could see
    drift = reconciler.reconcile(fed.runtime())
    assert drift.redeployed == [victim.id]
    fed.run_due()
    assert {i.stage for i in fed.instances(exercise.id)} == {Stage.READY}


def test_an_unknown_instance_is_torn_down_at_the_end_once_its_range_answers(fed: Federation) -> None:
    exercise = fed.create(fed.draft(2)).exercise
    fed.at(exercise.deploy_at)
    lv = fed.ranges["lv-range"]
    fed.connectors_built[lv.id] = Outage(fed.connector(lv), failures=3, calls=("list_instances", "teardown"))
    reconciler.reconcile(fed.runtime())
    assert Stage.UNKNOWN in {i.stage for i in fed.instances(exercise.id)}
    fed.at(exercise.end)  # the end: the teardown on lv fails (twice) and is retried
    assert Stage.TEARING_DOWN in {i.stage for i in fed.instances(exercise.id)}
    for attempt in (1, 2):
        fed.at(exercise.end + attempt * RETRY_AFTER)
    assert {i.stage for i in fed.instances(exercise.id)} == {Stage.DONE}
    assert not set(fed.fake_world("lv-range").instances) & {i.id for i in fed.instances(exercise.id)}


def test_an_unknown_instance_its_range_reports_failed_when_it_answers_again_is_redeployed(
    fed: Federation,
) -> None:
    exercise, lv = _running_with_lv_down(fed, 1)
    victim, *_ = [i for i in fed.instances(exercise.id) if i.range_id == lv.id]
    reconciler.reconcile(fed.runtime())
    fed.fake_world("lv-range").instances[victim.id].broken = "node lost"  # while nobody could see
    drift = reconciler.reconcile(fed.runtime())
    assert drift.redeployed == [victim.id]
    now = {i.id: i for i in fed.instances(exercise.id)}[victim.id]
    assert now.stage is Stage.DEPLOYING and now.stage_reason == "failed on its range: redeploying"
    fed.run_due()
    assert {i.stage for i in fed.instances(exercise.id)} == {Stage.READY}
