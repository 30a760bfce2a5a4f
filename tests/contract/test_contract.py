"""The connector contract (connectors/base.py), run over every connector harness.

Each behaviour is what the orchestrator relies on: deploy and teardown are idempotent, an unknown
instance is ABSENT (not an error), readiness is bounded and explains failures, every object carries the
isolation labels, and a deploy that fails part-way leaves nothing that teardown cannot find.
"""

from __future__ import annotations

import time
import uuid

import pytest

from connectors.base import (
    LABEL_EXERCISE,
    LABEL_INSTANCE,
    LABEL_MANAGED_BY,
    LABEL_TEAM,
    Connector,
    ConnectorError,
    ConnectorRefusal,
    InstanceSpec,
    Phase,
    SecurityAllowance,
)
from scenarios.loader import from_data
from scenarios.materialise import materialise
from scenarios.model import Scenario
from scenarios.serialise import dump_yaml, to_data
from tests.contract.harness import Harness

SEED = b"contract-suite-seed"


def _instance(
    scenario: Scenario, *, team: str = "team-a", allowance: SecurityAllowance | None = None
) -> InstanceSpec:
    instance_id = f"ct-{uuid.uuid4().hex[:10]}"
    return InstanceSpec(
        instance_id=instance_id,
        exercise="contract-exercise",
        team=team,
        scenario_document=dump_yaml(scenario),
        values=materialise(scenario, seed=SEED, instance_id=instance_id),
        allowance=allowance or SecurityAllowance(),
    )


@pytest.fixture
def deployed(harness: Harness) -> InstanceSpec:
    instance = _instance(harness.scenario())
    connector = harness.connector()
    try:
        connector.deploy(instance=instance)
    except BaseException:  # a deploy that fails here must not leave its objects on a shared range
        connector.teardown(instance_id=instance.instance_id)
        raise
    return instance


def _cleanup(harness: Harness, instance: InstanceSpec) -> None:
    harness.connector().teardown(instance_id=instance.instance_id)


def test_status_of_an_unknown_instance_is_absent(harness: Harness) -> None:
    status = harness.connector().status(instance_id=f"ct-unknown-{uuid.uuid4().hex[:6]}")
    assert status.phase is Phase.ABSENT


def test_deploy_twice_is_deploy_once(harness: Harness, deployed: InstanceSpec) -> None:
    try:
        connector = harness.connector()
        before = sorted(harness.leftovers(deployed.instance_id))
        assert before, "deploy created nothing the harness can see"
        connector.deploy(instance=deployed)
        assert sorted(harness.leftovers(deployed.instance_id)) == before
        ids = [r.instance_id for r in connector.list_instances()]
        assert ids.count(deployed.instance_id) == 1
    finally:
        _cleanup(harness, deployed)


def test_ready_instance_reports_hosts_and_entry_endpoints(harness: Harness, deployed: InstanceSpec) -> None:
    try:
        status = harness.connector().wait_ready(
            instance_id=deployed.instance_id, timeout=harness.ready_timeout
        )
        assert status.phase is Phase.READY, status.reason
        assert {h.name for h in status.hosts} == {"attacker", "target"}
        assert all(h.ready for h in status.hosts)
        assert {(e.host, e.port) for e in status.endpoints} == {("attacker", 2222)}
    finally:
        _cleanup(harness, deployed)


def test_readiness_failure_is_bounded_and_explained(harness: Harness) -> None:
    instance = _instance(harness.failing_scenario(), team="broken-team")
    connector = harness.connector()
    try:
        connector.deploy(instance=instance)
        started = time.monotonic()
        status = connector.wait_ready(instance_id=instance.instance_id, timeout=harness.ready_timeout)
        assert time.monotonic() - started < harness.ready_timeout + 30
        assert status.phase is Phase.FAILED
        assert status.reason, "a failed instance must say why"
    finally:
        connector.teardown(instance_id=instance.instance_id)
    assert harness.leftovers(instance.instance_id) == []


def test_every_object_carries_the_isolation_labels(harness: Harness, deployed: InstanceSpec) -> None:
    try:
        labels = harness.labels(deployed.instance_id)
        assert labels
        for object_labels in labels:
            assert object_labels[LABEL_INSTANCE] == deployed.instance_id
            assert object_labels[LABEL_MANAGED_BY] == "federange"
            assert object_labels[LABEL_EXERCISE] == "contract-exercise"
            assert object_labels[LABEL_TEAM] == "team-a"
        record = next(
            r for r in harness.connector().list_instances() if r.instance_id == deployed.instance_id
        )
        assert (record.exercise, record.team) == ("contract-exercise", "team-a")
    finally:
        _cleanup(harness, deployed)


def test_teardown_twice_is_teardown_once(harness: Harness, deployed: InstanceSpec) -> None:
    connector = harness.connector()
    connector.teardown(instance_id=deployed.instance_id)
    connector.teardown(instance_id=deployed.instance_id)
    assert harness.leftovers(deployed.instance_id) == []
    assert connector.status(instance_id=deployed.instance_id).phase is Phase.ABSENT
    assert deployed.instance_id not in [r.instance_id for r in connector.list_instances()]


def test_a_partial_failure_is_listed_and_torn_down_completely(harness: Harness) -> None:
    instance = _instance(harness.scenario())
    connector = harness.connector()
    harness.arrange_partial_failure(instance)
    try:
        with pytest.raises(ConnectorError) as failure:
            connector.deploy(instance=instance)
        assert failure.value.reason
        assert instance.instance_id in [r.instance_id for r in connector.list_instances()]
    finally:
        connector.teardown(instance_id=instance.instance_id)
    assert harness.leftovers(instance.instance_id) == []


def test_what_the_allowance_does_not_grant_is_refused_before_anything_exists(harness: Harness) -> None:
    data = to_data(harness.scenario())
    data["spec"]["hosts"][1]["security"] = {"privileged": True}  # target
    instance = _instance(from_data(data))
    connector = harness.connector()
    with pytest.raises(ConnectorRefusal) as refused:
        connector.deploy(instance=instance)
    assert "spec.hosts[1].security.privileged (host target)" in refused.value.reason
    assert harness.leftovers(instance.instance_id) == []
    assert instance.instance_id not in [r.instance_id for r in connector.list_instances()]


def test_close_is_part_of_the_protocol(harness: Harness) -> None:
    connector = harness.connector()
    assert isinstance(connector, Connector)
    assert callable(connector.close)
