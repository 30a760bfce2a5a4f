"""The Kubernetes connector over real HTTP against the in-process API server: apply, readiness reasons,
teardown, fan-out, and what injected API errors and timeouts lead to (retries, then a clear reason on
the instance; never a hang, never an orphaned namespace)."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from connectors import registry
from connectors.base import (
    LABEL_HOST,
    ConnectorError,
    ConnectorRefusal,
    InstanceSpec,
    Phase,
    SecurityAllowance,
)
from connectors.fanout import deploy_many, teardown_many
from connectors.kubernetes.connector import KubernetesConnector
from connectors.kubernetes.render import render_instance
from scenarios.loader import load_text
from tests.contract.harness import contract_scenario
from tests.support.kube_api import KubeApiServer, NodeSpec, Timing
from tests.unit.kubernetes.scenarios import WEB_BREACH, ics_lab, instance, web_breach

FAST = {"qps": 0, "watch_window": 1, "retry_attempts": 3, "retry_initial": 0.01, "retry_max": 0.05}


@pytest.fixture(scope="module")
def api() -> Iterator[KubeApiServer]:
    with KubeApiServer() as server:
        yield server


@pytest.fixture
def connector(api: KubeApiServer) -> Iterator[KubernetesConnector]:
    api.faults.clear()
    with KubernetesConnector(api.connector_config(**FAST)) as built:
        yield built


def contract(instance_id: str, *, image: str = "registry.example/tools:1", team: str = "a") -> InstanceSpec:
    return instance(contract_scenario(image=image), instance_id=instance_id, team=team)


def test_the_registry_builds_it_by_kind(api: KubeApiServer) -> None:
    built = registry.load("kubernetes", api.connector_config())
    assert isinstance(built, KubernetesConnector)
    with pytest.raises(ConnectorError, match="kubernetes connector config: kubeconfig: give exactly one way"):
        registry.load("kubernetes", {})


def test_deploy_server_side_applies_the_rendering_and_the_hosts_become_ready(
    api: KubeApiServer, connector: KubernetesConnector
) -> None:
    spec = instance(web_breach(), instance_id="i-apply")
    try:
        connector.deploy(instance=spec)
        patches = api.requests(method="PATCH", path="/namespaces/fr-i-apply/|/namespaces/fr-i-apply$")
        rendered = render_instance(spec)
        assert len(patches) == len(rendered)
        assert all(r.query["fieldManager"] == ["federange"] and r.query["force"] == ["true"] for r in patches)
        stored = {(o["kind"], o["metadata"]["name"]): o for o in api.objects("Secret", "fr-i-apply")}
        secret = stored[("Secret", "web-env")]
        assert base64.b64decode(secret["data"]["DB_PASSWORD"]).decode() == spec.values["db_password"]
        status = connector.wait_ready(instance_id="i-apply", timeout=10)
        assert status.phase is Phase.READY, status.reason
        assert [e.host for e in status.endpoints] == ["attacker"]
        assert status.endpoints[0].url.startswith("tcp://192.0.2.1")
        record = next(r for r in connector.list_instances() if r.instance_id == "i-apply")
        assert (record.exercise, record.team, record.phase) == ("Locked-Shields-2027", "Team-A", Phase.READY)
    finally:
        connector.teardown(instance_id="i-apply")
    assert connector.status(instance_id="i-apply").phase is Phase.ABSENT


def test_rendered_pods_pass_pod_security_admission_at_their_level(
    api: KubeApiServer, connector: KubernetesConnector
) -> None:
    spec = instance(ics_lab(), instance_id="i-restricted")
    try:
        connector.deploy(instance=spec)
        namespace = next(o for o in api.objects("Namespace") if o["metadata"]["name"] == "fr-i-restricted")
        assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
        status = connector.wait_ready(instance_id="i-restricted", timeout=10)
        assert status.phase is Phase.READY, status.reason
    finally:
        connector.teardown(instance_id="i-restricted")


def test_transient_errors_are_retried_honouring_retry_after(
    api: KubeApiServer, connector: KubernetesConnector
) -> None:
    api.faults.add(
        method="PATCH", path="/namespaces/fr-i-retry/networkpolicies/default-deny$", status=503, times=2
    )
    api.faults.add(
        method="PATCH", path="/namespaces/fr-i-retry/services/attacker$", status=429, times=1, retry_after=0.1
    )
    try:
        connector.deploy(instance=contract("i-retry"))
        assert [r.status for r in api.requests(method="PATCH", path="/fr-i-retry/services/attacker$")] == [
            429,
            201,
        ]
        statuses = [
            r.status for r in api.requests(method="PATCH", path="/fr-i-retry/networkpolicies/default-deny$")
        ]
        assert statuses == [503, 503, 201]
        assert connector.status(instance_id="i-retry").phase in (Phase.PENDING, Phase.READY)
    finally:
        connector.teardown(instance_id="i-retry")


def test_validation_errors_fail_at_once_with_the_api_message_and_the_instance_says_why(
    api: KubeApiServer, connector: KubernetesConnector
) -> None:
    spec = contract("i-invalid")
    connector.deploy(instance=spec)
    # Someone changed the target's selector by hand: the API refuses to change an immutable field (422).
    connector.api.delete("Deployment", "target", namespace="fr-i-invalid")
    manual = next(
        o for o in render_instance(spec) if o["kind"] == "Deployment" and o["metadata"]["name"] == "target"
    )
    manual["spec"]["selector"]["matchLabels"][LABEL_HOST] = "renamed"
    manual["spec"]["template"]["metadata"]["labels"][LABEL_HOST] = "renamed"
    connector.api.apply(manual, field_manager="someone-else")
    before = len(api.requests(method="PATCH", path="/deployments/target$"))
    try:
        with pytest.raises(ConnectorError) as failure:
            connector.deploy(instance=spec)
        assert not failure.value.retryable
        assert "applying Deployment target failed" in failure.value.reason
        assert "field is immutable" in failure.value.reason
        assert len(api.requests(method="PATCH", path="/deployments/target$")) == before + 1  # not retried
        status = connector.status(instance_id="i-invalid")
        assert status.phase is Phase.FAILED
        assert "field is immutable" in status.reason
        assert "i-invalid" in [r.instance_id for r in connector.list_instances()]
    finally:
        connector.teardown(instance_id="i-invalid")
    assert not [o for o in api.objects("Namespace") if o["metadata"]["name"] == "fr-i-invalid"]


def test_persistent_server_errors_give_up_after_the_attempts_and_leave_nothing_orphaned(
    api: KubeApiServer, connector: KubernetesConnector
) -> None:
    api.faults.add(method="PATCH", path="/namespaces/fr-i-down/deployments/target$", status=500, times=None)
    try:
        with pytest.raises(ConnectorError) as failure:
            connector.deploy(instance=contract("i-down"))
        assert failure.value.retryable
        assert "gave up after 3 attempts" in failure.value.reason
        assert len(api.requests(method="PATCH", path="/fr-i-down/deployments/target$")) == 3
        status = connector.status(instance_id="i-down")
        assert status.phase is Phase.FAILED
        assert status.reason.startswith("deploy failed part-way: applying Deployment target failed")
        # A redeploy once the API recovered converges and clears the recorded failure.
        api.faults.clear()
        connector.deploy(instance=contract("i-down"))
        assert connector.wait_ready(instance_id="i-down", timeout=10).phase is Phase.READY
    finally:
        connector.teardown(instance_id="i-down")
    assert not [o for o in api.objects("Namespace") if o["metadata"]["name"] == "fr-i-down"]


@pytest.mark.timeout(60)
def test_a_hanging_api_is_cut_off_by_timeouts_and_reported(api: KubeApiServer) -> None:
    config = api.connector_config(**{**FAST, "request_timeout": 0.3, "retry_attempts": 2})
    api.faults.add(
        method="PATCH", path="/namespaces/fr-i-hang/limitranges/", status=None, delay=3.0, times=None
    )
    with KubernetesConnector(config) as slow:
        try:
            with pytest.raises(ConnectorError) as failure:
                slow.deploy(instance=contract("i-hang"))
            assert "did not answer" in failure.value.reason
            assert "gave up after 2 attempts" in failure.value.reason
            status = slow.status(instance_id="i-hang")
            assert status.phase is Phase.FAILED
            assert "applying LimitRange container-defaults failed" in status.reason
        finally:
            api.faults.clear()
            slow.teardown(instance_id="i-hang")
    assert not [o for o in api.objects("Namespace") if o["metadata"]["name"] == "fr-i-hang"]


def test_an_unreachable_api_makes_the_probe_unhealthy_with_a_reason() -> None:
    with KubeApiServer() as gone:
        config = gone.connector_config(**FAST)
    with KubernetesConnector(config) as connector:
        probe = connector.probe()
        assert not probe.healthy
        assert "did not answer" in probe.reason
        with pytest.raises(ConnectorError, match="did not answer"):
            connector.status(instance_id="i-any")


def test_a_wrong_token_is_refused_without_retries(api: KubeApiServer) -> None:
    before = len(api.requests(path="^/version$"))
    with KubernetesConnector({**api.connector_config(**FAST), "token": "wrong"}) as connector:
        probe = connector.probe()
    assert not probe.healthy
    assert "401 Unauthorized" in probe.reason
    assert len(api.requests(path="^/version$")) == before + 1


def test_a_kubeconfig_reaches_the_cluster(api: KubeApiServer) -> None:
    with KubernetesConnector({"kubeconfig": api.kubeconfig(), **FAST}) as connector:
        probe = connector.probe()
    assert probe.healthy, probe.reason
    assert probe.version == "v1.33.1-federange-double"
    # Two nodes of 8 cpu / 32 GiB, minus the cluster DNS pod's requests (and whatever tests run now).
    assert probe.observed_total.cpu_millicores == 16_000
    assert probe.observed_total.memory_mib == 65_536
    assert probe.observed_free.cpu_millicores <= 15_900


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        ("registry.example/tools:missing", "ImagePullBackOff"),
        ("registry.example/tools:crashloop", "CrashLoopBackOff"),
    ],
)
def test_readiness_failures_carry_the_kubelets_reason(
    connector: KubernetesConnector, image: str, reason: str
) -> None:
    spec = contract("i-broken", image=image)
    try:
        connector.deploy(instance=spec)
        status = connector.wait_ready(instance_id="i-broken", timeout=10)
        assert status.phase is Phase.FAILED
        assert reason in status.reason or reason.replace("BackOff", "") in status.reason
    finally:
        connector.teardown(instance_id="i-broken")


def test_a_pod_the_quota_refuses_fails_readiness_with_the_quota_message(
    api: KubeApiServer, connector: KubernetesConnector
) -> None:
    api.cluster.paused = True
    try:
        connector.deploy(instance=contract("i-quota"))
        connector.api.merge_patch(
            "ResourceQuota",
            "booked-footprint",
            namespace="fr-i-quota",
            patch={"spec": {"hard": {"pods": "1"}}},
            field_manager="range-operator",
        )
    finally:
        api.cluster.paused = False
    try:
        status = connector.wait_ready(instance_id="i-quota", timeout=10)
        assert status.phase is Phase.FAILED
        assert "exceeded quota: booked-footprint" in status.reason
    finally:
        connector.teardown(instance_id="i-quota")


def test_readiness_is_bounded_and_says_what_is_still_missing(connector: KubernetesConnector) -> None:
    try:
        connector.deploy(instance=contract("i-slow", image="registry.example/tools:unready"))
        status = connector.wait_ready(instance_id="i-slow", timeout=1.5)
        assert status.phase is Phase.FAILED
        assert status.reason.startswith("not ready after 1.5s")
        assert "readiness probe not passed yet" in status.reason
    finally:
        connector.teardown(instance_id="i-slow")


def test_an_instance_too_big_for_the_nodes_reports_unschedulable() -> None:
    nodes = [NodeSpec("tiny", "192.0.2.50", cpu="60m", memory="1Gi")]
    with (
        KubeApiServer(nodes=nodes) as small,
        KubernetesConnector(small.connector_config(**FAST)) as connector,
    ):
        connector.deploy(instance=contract("i-big"))
        status = connector.wait_ready(instance_id="i-big", timeout=1.5)
        assert status.phase is Phase.FAILED
        assert "Unschedulable" in status.reason
        connector.teardown(instance_id="i-big")


def test_teardown_waits_for_the_namespace_to_go_and_is_bounded() -> None:
    with KubeApiServer(timing=Timing(namespace_delete_delay=2.0)) as slow:
        with KubernetesConnector(slow.connector_config(**FAST)) as connector:
            connector.deploy(instance=contract("i-gone"))
            connector.teardown(instance_id="i-gone")
            assert not [o for o in slow.objects("Namespace") if o["metadata"]["name"] == "fr-i-gone"]
            assert not slow.objects("Deployment", "fr-i-gone")
        with KubernetesConnector(slow.connector_config(**{**FAST, "teardown_timeout": 0.2})) as hurried:
            hurried.deploy(instance=contract("i-stuck"))
            with pytest.raises(
                ConnectorError, match="namespace fr-i-stuck of instance i-stuck is still terminating"
            ):
                hurried.teardown(instance_id="i-stuck")
            assert hurried.status(instance_id="i-stuck").phase is Phase.TERMINATING
            with pytest.raises(ConnectorError, match="still being torn down") as refused:
                hurried.deploy(instance=contract("i-stuck"))
            assert refused.value.retryable
            assert "i-stuck" in [r.instance_id for r in hurried.list_instances()]
        with KubernetesConnector(slow.connector_config(**FAST)) as patient:
            patient.teardown(instance_id="i-stuck")
            assert patient.status(instance_id="i-stuck").phase is Phase.ABSENT


def test_a_redeploy_converges_and_prunes_what_the_scenario_dropped(
    api: KubeApiServer, connector: KubernetesConnector
) -> None:
    full = instance(web_breach(), instance_id="i-prune")
    smaller_text = WEB_BREACH.replace("    - name: monitor", "    - name: monitor-old").split(
        "    - name: monitor-old"
    )[0]
    smaller_text += (
        "  flows:\n    - {from: {segment: dmz, hosts: [web]}, to: {segment: internal, hosts: [api]}}\n"
    )
    smaller_text = smaller_text.replace("segments: [mgmt, internal]", "segments: [internal]")
    smaller_text = smaller_text.replace("{name: mgmt}", "").replace(", ]", "]")
    smaller = instance(load_text(smaller_text), instance_id="i-prune")
    try:
        connector.deploy(instance=full)
        assert {d["metadata"]["name"] for d in api.objects("Deployment", "fr-i-prune")} >= {"monitor", "jump"}
        connector.deploy(instance=smaller)
        names = {
            (o["kind"], o["metadata"]["name"])
            for k in ("Deployment", "Service", "NetworkPolicy")
            for o in api.objects(k, "fr-i-prune")
        }
        expected = {
            (o["kind"], o["metadata"]["name"])
            for o in render_instance(smaller)
            if o["kind"] in ("Deployment", "Service", "NetworkPolicy")
        }
        assert names == expected
        assert ("Deployment", "monitor") not in names and ("NetworkPolicy", "segment-mgmt") not in names
    finally:
        connector.teardown(instance_id="i-prune")


def test_a_namespace_that_is_not_the_instances_is_never_touched(
    api: KubeApiServer, connector: KubernetesConnector
) -> None:
    connector.api.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fr-i-foreign"}},
        field_manager="someone",
    )
    try:
        with pytest.raises(ConnectorRefusal, match="does not belong to instance i-foreign"):
            connector.deploy(instance=contract("i-foreign"))
        with pytest.raises(ConnectorRefusal, match="not deleting it"):
            connector.teardown(instance_id="i-foreign")
        assert connector.status(instance_id="i-foreign").phase is Phase.ABSENT
    finally:
        connector.api.delete("Namespace", "fr-i-foreign")


def test_deploy_many_is_bounded_and_reports_each_instance(api: KubeApiServer) -> None:
    config = api.connector_config(**{**FAST, "max_parallel": 3})
    dangerous = load_text(
        json.dumps(
            {
                "apiVersion": "federange/v1",
                "kind": "Scenario",
                "metadata": {"name": "danger", "version": "1.0.0", "title": "Privileged"},
                "spec": {
                    "segments": [{"name": "s"}],
                    "hosts": [
                        {
                            "name": "box",
                            "image": "x:1",
                            "segments": ["s"],
                            "security": {"privileged": True},
                            "resources": {"requests": {"cpu_millicores": 10, "memory_mib": 16}},
                        }
                    ],
                },
            }
        )
    )
    specs = [contract(f"i-many-{n}", team=f"t{n}") for n in range(8)]
    specs.append(instance(dangerous, instance_id="i-many-danger", allowance=SecurityAllowance()))
    api.faults.add(method="PATCH", path="/namespaces/fr-i-many-5/deployments/target$", status=500, times=None)
    baseline = api.max_inflight
    api.max_inflight = 0
    with KubernetesConnector(config) as connector:
        try:
            outcomes = deploy_many(connector, specs, workers=connector.settings.max_parallel)
            assert [o.instance_id for o in outcomes] == [s.instance_id for s in specs]
            assert [o.ok for o in outcomes] == [True] * 5 + [False] + [True] * 2 + [False]
            assert "gave up after 3 attempts" in outcomes[5].error
            assert outcomes[8].refused and "security.privileged" in outcomes[8].error
            assert all(o.status is not None for o in outcomes if o.ok)
            assert api.max_inflight <= 3
            gone = teardown_many(
                connector, [s.instance_id for s in specs], workers=connector.settings.max_parallel
            )
            assert all(o.ok for o in gone), [o.error for o in gone]
        finally:
            api.faults.clear()
            api.max_inflight = max(api.max_inflight, baseline)
    left = [
        o["metadata"]["name"]
        for o in api.objects("Namespace")
        if o["metadata"]["name"].startswith("fr-i-many")
    ]
    assert left == []


def test_provisioning_reaches_each_host_through_the_api(
    api: KubeApiServer, connector: KubernetesConnector
) -> None:
    with pytest.raises(ConnectorError, match="not deployed"):
        connector.provisioning_target(instance_id="i-prov")
    try:
        connector.deploy(instance=contract("i-prov"))
        connector.wait_ready(instance_id="i-prov", timeout=10)
        target = connector.provisioning_target(instance_id="i-prov")
        hosts: dict[str, Any] = target.inventory["all"]["hosts"]
        assert set(hosts) == {"attacker", "target"}
        pod_names = {p["metadata"]["name"] for p in api.objects("Pod", "fr-i-prov")}
        for name, variables in hosts.items():
            assert variables["ansible_connection"] == "kubernetes.core.kubectl"
            assert variables["ansible_kubectl_namespace"] == "fr-i-prov"
            assert variables["ansible_kubectl_pod"] in pod_names
            assert variables["ansible_kubectl_container"] == name
        assert api.url in target.files["kubeconfig"]
    finally:
        connector.teardown(instance_id="i-prov")


def test_run_executes_in_the_hosts_running_pod_through_pods_exec(api: KubeApiServer) -> None:
    """The exec WebSocket (v4.channel.k8s.io) with the double's handler running the command here."""
    seen: list[tuple[str, str, str, list[str]]] = []

    def run_here(namespace: str, pod: str, container: str, argv: list[str]) -> tuple[int, bytes, bytes]:
        seen.append((namespace, pod, container, argv))
        done = subprocess.run(argv, capture_output=True, check=False, timeout=10)
        return done.returncode, done.stdout, done.stderr

    api.exec_handler = run_here
    try:
        with KubernetesConnector(api.connector_config(**FAST)) as connector:
            spec = contract("i-run")
            connector.deploy(instance=spec)
            assert connector.wait_ready(instance_id="i-run", timeout=30).phase is Phase.READY
            said = connector.run(instance_id="i-run", host="target", argv=["echo", "hello"], timeout=10)
            assert (said.exit_code, said.stdout, said.stderr) == (0, "hello\n", "")
            failed = connector.run(
                instance_id="i-run", host="target", argv=["sh", "-c", "echo no >&2; exit 4"], timeout=10
            )
            assert (failed.exit_code, failed.stdout, failed.stderr) == (4, "", "no\n")
            namespace, pod, container, argv = seen[0]
            assert namespace == connector.namespace("i-run") and container == "target"
            assert pod.startswith("target-") and argv == ["echo", "hello"]
            with pytest.raises(ConnectorError, match="host nowhere of instance i-run has no running pod"):
                connector.run(instance_id="i-run", host="nowhere", argv=["true"], timeout=5)
            connector.teardown(instance_id="i-run")
    finally:
        api.exec_handler = None
