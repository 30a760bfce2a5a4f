"""Engine faults injected over real HTTP (tests/support/faultproxy.py) in front of the real engine:
transient failures are retried, lasting ones end in a clear reason within bounded time, and whatever a
failed deploy left behind is found and removed by teardown, so nothing is orphaned."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from connectors.base import ConnectorError, InstanceSpec, Phase
from connectors.docker.connector import DockerConnector
from scenarios.materialise import materialise
from scenarios.model import Scenario
from scenarios.serialise import dump_yaml
from tests.contract.harness import contract_scenario
from tests.integration.connectors.dockerenv import remains
from tests.support.faultproxy import DELAY, DROP, ERROR, HANG, FaultProxy, Rule, fault_proxy

pytestmark = [pytest.mark.docker]

RETRIES = 3


def _instance(scenario: Scenario) -> InstanceSpec:
    instance_id = f"fx-{uuid.uuid4().hex[:8]}"
    return InstanceSpec(
        instance_id=instance_id,
        exercise="faults",
        team="team-f",
        scenario_document=dump_yaml(scenario),
        values=materialise(scenario, seed=b"faults", instance_id=instance_id),
    )


@pytest.fixture
def proxy(docker_engine: docker.APIClient) -> Iterator[FaultProxy]:
    with fault_proxy() as running:
        yield running


@pytest.fixture
def faulty(proxy: FaultProxy, range_config: dict[str, Any]) -> Iterator[DockerConnector]:
    """A connector that reaches the engine through the fault proxy, with short retries and timeouts."""
    config = {
        **range_config,
        "base_url": f"tcp://127.0.0.1:{proxy.port}",
        "retries": RETRIES,
        "retry_wait": 0.05,
        "api_timeout": 2,
    }
    with DockerConnector(config) as connector:
        yield connector


@pytest.fixture
def clean(range_config: dict[str, Any]) -> Iterator[DockerConnector]:
    with DockerConnector(range_config) as connector:
        yield connector


def _assert_removable(
    clean: DockerConnector, docker_engine: docker.APIClient, instance: InstanceSpec
) -> None:
    assert instance.instance_id in [r.instance_id for r in clean.list_instances()] or not remains(
        docker_engine, [instance.instance_id]
    )
    clean.teardown(instance_id=instance.instance_id)
    assert remains(docker_engine, [instance.instance_id]) == []


def test_transient_engine_errors_are_retried(
    faulty: DockerConnector, proxy: FaultProxy, clean: DockerConnector, docker_engine: docker.APIClient
) -> None:
    instance = _instance(contract_scenario(image="busybox:1.36"))
    proxy.add(Rule("POST", r"/containers/create\?name=fr-.*\.target", action=ERROR, times=RETRIES - 1))
    proxy.add(Rule("POST", r"/networks/create", action=DROP, times=1))
    try:
        faulty.deploy(instance=instance)
        assert proxy.count("POST", r"/containers/create\?name=fr-.*\.target") == RETRIES
        status = faulty.wait_ready(instance_id=instance.instance_id, timeout=30)
        assert status.phase is Phase.READY, status.reason
    finally:
        clean.teardown(instance_id=instance.instance_id)
    assert remains(docker_engine, [instance.instance_id]) == []


def test_lasting_engine_errors_fail_with_the_reason_and_leave_nothing_orphaned(
    faulty: DockerConnector, proxy: FaultProxy, clean: DockerConnector, docker_engine: docker.APIClient
) -> None:
    instance = _instance(contract_scenario(image="busybox:1.36"))
    proxy.add(
        Rule("POST", r"/containers/create\?name=fr-.*\.target", action=ERROR, times=100, message="disk full")
    )
    started = time.monotonic()
    with pytest.raises(ConnectorError) as failure:
        faulty.deploy(instance=instance)
    assert time.monotonic() - started < 30
    reason = failure.value.reason
    assert "create container fr-" in reason and ".target" in reason, reason
    assert "disk full" in reason and "HTTP 500" in reason and f"failed {RETRIES} time(s)" in reason, reason
    assert failure.value.retryable
    assert proxy.count("POST", r"/containers/create\?name=fr-.*\.target") == RETRIES
    # the half-made instance is visible, explained, and removable
    status = clean.status(instance_id=instance.instance_id)
    assert status.phase is Phase.PENDING and "target" in status.reason
    _assert_removable(clean, docker_engine, instance)


def test_a_request_answered_too_late_is_retried_and_its_late_object_adopted(
    faulty: DockerConnector, proxy: FaultProxy, clean: DockerConnector, docker_engine: docker.APIClient
) -> None:
    """The engine creates the container after the client gave up waiting; the retry meets it (409) and
    adopts it instead of creating a twin or failing."""
    instance = _instance(contract_scenario(image="busybox:1.36"))
    proxy.add(Rule("POST", r"/containers/create\?name=fr-.*\.attacker", action=DELAY, delay=3.0, times=1))
    try:
        faulty.deploy(instance=instance)
        containers = [o for o in clean.objects(instance.instance_id) if o.startswith("container:")]
        assert len(containers) == 2, containers
        assert faulty.wait_ready(instance_id=instance.instance_id, timeout=30).phase is Phase.READY
    finally:
        clean.teardown(instance_id=instance.instance_id)
    assert remains(docker_engine, [instance.instance_id]) == []


def test_an_engine_that_never_answers_in_time_fails_bounded(
    faulty: DockerConnector, proxy: FaultProxy, clean: DockerConnector, docker_engine: docker.APIClient
) -> None:
    instance = _instance(contract_scenario(image="busybox:1.36"))
    proxy.add(Rule("POST", r"/networks/create", action=HANG, delay=30.0, times=100))
    started = time.monotonic()
    with pytest.raises(ConnectorError) as failure:
        faulty.deploy(instance=instance)
    assert time.monotonic() - started < 2 * RETRIES + 10
    assert "no answer in time" in failure.value.reason, failure.value.reason
    proxy.clear()
    _assert_removable(clean, docker_engine, instance)


def test_a_client_error_is_not_retried(faulty: DockerConnector, proxy: FaultProxy) -> None:
    instance = _instance(contract_scenario(image="busybox:1.36"))
    proxy.add(Rule("GET", r"/images/.*/json", action=ERROR, status=404, times=100, message="no such image"))
    with pytest.raises(ConnectorError) as failure:
        faulty.deploy(instance=instance)
    assert "pull policy is 'never'" in failure.value.reason
    assert proxy.count("GET", r"/images/.*/json") == 1
    assert not failure.value.retryable


def test_an_unreachable_engine_is_reported_not_waited_for(range_config: dict[str, Any]) -> None:
    from tests.support.live import free_port

    config = {**range_config, "base_url": f"tcp://127.0.0.1:{free_port()}", "retries": 2, "retry_wait": 0.05}
    with DockerConnector(config) as connector:
        started = time.monotonic()
        probe = connector.probe()
        assert not probe.healthy and "connection failed" in probe.reason, probe.reason
        with pytest.raises(ConnectorError) as failure:
            connector.deploy(instance=_instance(contract_scenario(image="busybox:1.36")))
        assert failure.value.retryable and "127.0.0.1" in failure.value.reason
        waited = connector.wait_ready(instance_id="fx-nowhere", timeout=5)
        assert waited.phase is Phase.FAILED and "connection failed" in waited.reason
        assert time.monotonic() - started < 20


def test_missing_image_fails_at_once_with_the_host_named(
    clean: DockerConnector, docker_engine: docker.APIClient
) -> None:
    instance = _instance(contract_scenario(image="registry.invalid/absent:1"))
    with pytest.raises(ConnectorError) as failure:
        clean.deploy(instance=instance)
    assert "registry.invalid/absent:1" in failure.value.reason and "attacker" in failure.value.reason
    assert remains(docker_engine, [instance.instance_id]) == []
