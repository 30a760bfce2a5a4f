"""Reconciling what the database says runs with what each range reports."""

from __future__ import annotations

from connectors.base import InstanceSpec
from orchestrator.exercises import reconciler
from orchestrator.exercises.model import Stage
from scenarios import library
from tests.unit.exercises.world import Federation, Outage


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


def test_a_range_that_cannot_list_its_instances_is_reported_and_the_others_still_reconciled(
    fed: Federation,
) -> None:
    exercise = fed.create(fed.draft(2)).exercise
    fed.at(exercise.deploy_at)
    lv = fed.ranges["lv-range"]
    fed.connectors_built[lv.id] = Outage(fed.connector(lv), failures=1, calls=("list_instances",))
    victim = next(i for i in fed.instances(exercise.id) if i.range_id == fed.ranges["ee-range"].id)
    fed.fake_world("ee-range").instances.pop(victim.id)
    drift = reconciler.reconcile(fed.runtime())
    assert drift.unreachable == {"lv-range": "the range's API is down"}
    assert drift.redeployed == [victim.id]
