"""An instance's status from what the cluster reports: phases and the reasons failures carry."""

from __future__ import annotations

from typing import Any

from connectors.base import LABEL_HOST, Phase
from connectors.kubernetes.capacity import observed as observed_capacity
from connectors.kubernetes.readiness import Observed, instance_status

NAMESPACE = {
    "metadata": {"name": "fr-i1", "annotations": {"federange.eu/hosts": "db,web"}},
    "status": {"phase": "Active"},
}


def deployment(host: str, **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": host, "labels": {LABEL_HOST: host}}, "status": status}


def pod(
    host: str,
    *,
    ready: bool = False,
    waiting: str = "",
    message: str = "",
    exit_code: int | None = None,
    scheduled: bool = True,
    phase: str = "Running",
    created: str = "2027-01-01T10:00:00Z",
    host_ip: str = "192.0.2.5",
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": host, "restartCount": 2 if exit_code is not None else 0, "state": {}}
    if waiting:
        container["state"] = {"waiting": {"reason": waiting, "message": message}}
    if exit_code is not None:
        container["lastState"] = {"terminated": {"exitCode": exit_code}}
    conditions = [{"type": "Ready", "status": "True" if ready else "False"}]
    if not scheduled:
        conditions = [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": "0/3 nodes are available: 3 Insufficient memory.",
            }
        ]
    return {
        "metadata": {
            "name": f"{host}-abc-{created[-3:-1]}",
            "labels": {LABEL_HOST: host},
            "creationTimestamp": created,
        },
        "status": {
            "phase": phase,
            "hostIP": host_ip,
            "conditions": conditions,
            "containerStatuses": [container],
        },
    }


def status(**observed: Any) -> Any:
    return instance_status("i1", Observed(namespace=observed.pop("namespace", NAMESPACE), **observed))


def test_absent_terminating_and_ready() -> None:
    assert status(namespace=None).phase is Phase.ABSENT
    terminating = {"metadata": {"name": "fr-i1", "deletionTimestamp": "2027-01-01T00:00:00Z"}, "status": {}}
    assert status(namespace=terminating).phase is Phase.TERMINATING
    ready = status(
        deployments=[deployment("db"), deployment("web")],
        pods=[pod("db", ready=True), pod("web", ready=True)],
    )
    assert ready.phase is Phase.READY
    assert [h.name for h in ready.hosts] == ["db", "web"]


def test_a_host_without_its_deployment_keeps_the_instance_pending() -> None:
    partial = status(deployments=[deployment("db")], pods=[pod("db", ready=True)])
    assert partial.phase is Phase.PENDING
    assert "host web: not created" in partial.reason


def test_image_pull_and_crash_loop_fail_with_the_kubelets_reason() -> None:
    pulled = status(
        deployments=[deployment("db"), deployment("web")],
        pods=[
            pod("db", ready=True),
            pod("web", waiting="ImagePullBackOff", message='Back-off pulling image "x:1"'),
        ],
    )
    assert pulled.phase is Phase.FAILED
    assert pulled.reason == 'host web: ImagePullBackOff: Back-off pulling image "x:1"'
    crashed = status(
        deployments=[deployment("db"), deployment("web")],
        pods=[pod("db", waiting="CrashLoopBackOff", exit_code=3), pod("web", ready=True)],
    )
    assert crashed.phase is Phase.FAILED
    assert "CrashLoopBackOff" in crashed.reason and "last exit code 3, 2 restarts" in crashed.reason


def test_a_pod_refused_by_the_quota_fails_with_the_replica_sets_event() -> None:
    event = {
        "type": "Warning",
        "reason": "FailedCreate",
        "lastTimestamp": "2027-01-01T10:00:00Z",
        "involvedObject": {"kind": "ReplicaSet", "name": "web-5d9f8c7b6"},
        "message": 'Error creating: pods "web-x" is forbidden: exceeded quota: booked-footprint',
    }
    other = {**event, "involvedObject": {"kind": "ReplicaSet", "name": "web-db-5d9f8c7b6"}}
    failed = status(
        deployments=[deployment("db"), deployment("web")], pods=[pod("db", ready=True)], events=[event]
    )
    assert failed.phase is Phase.FAILED
    assert "exceeded quota" in failed.reason
    # An event of another host's ReplicaSet ("web-db-...") is not web's.
    assert (
        status(
            deployments=[deployment("db"), deployment("web")], pods=[pod("db", ready=True)], events=[other]
        ).phase
        is Phase.PENDING
    )
    condition = {
        "type": "ReplicaFailure",
        "status": "True",
        "reason": "FailedCreate",
        "message": "exceeded quota",
    }
    via_condition = status(
        deployments=[deployment("db"), deployment("web", conditions=[condition])], pods=[pod("db")]
    )
    assert via_condition.phase is Phase.FAILED


def test_slow_hosts_are_pending_with_the_most_telling_reason() -> None:
    pending = status(
        deployments=[deployment("db"), deployment("web")],
        pods=[
            pod("db", scheduled=False, phase="Pending"),
            pod("web", waiting="ContainerCreating", phase="Pending"),
        ],
    )
    assert pending.phase is Phase.PENDING
    assert "Unschedulable: 0/3 nodes are available: 3 Insufficient memory." in pending.reason
    assert "host web: ContainerCreating" in pending.reason


def test_the_newest_live_pod_speaks_for_its_host() -> None:
    old = pod("web", waiting="CrashLoopBackOff", exit_code=1, created="2027-01-01T09:00:00Z")
    old["metadata"]["deletionTimestamp"] = "2027-01-01T10:00:01Z"
    new = pod("web", ready=True, created="2027-01-01T10:00:00Z")
    assert (
        status(
            deployments=[deployment("db"), deployment("web")], pods=[pod("db", ready=True), old, new]
        ).phase
        is Phase.READY
    )


def test_a_recorded_deploy_failure_wins() -> None:
    broken = {
        "metadata": {
            **NAMESPACE["metadata"],
            "annotations": {
                **NAMESPACE["metadata"]["annotations"],
                "federange.eu/deploy-error": "applying Deployment web failed: 500",
            },
        }
    }
    result = status(namespace=broken, deployments=[deployment("db")], pods=[pod("db", ready=True)])
    assert result.phase is Phase.FAILED
    assert result.reason == "deploy failed part-way: applying Deployment web failed: 500"


def test_entry_endpoints_for_node_ports_and_load_balancers() -> None:
    node_port = {
        "metadata": {"name": "web-entry", "labels": {LABEL_HOST: "web", "federange.eu/entry": "true"}},
        "spec": {"type": "NodePort", "ports": [{"port": 443, "nodePort": 31443, "protocol": "TCP"}]},
    }
    balanced = {
        "metadata": {"name": "db-entry", "labels": {LABEL_HOST: "db", "federange.eu/entry": "true"}},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 5432, "protocol": "TCP"}]},
        "status": {"loadBalancer": {"ingress": [{"hostname": "lb.example"}]}},
    }
    result = status(
        deployments=[deployment("db"), deployment("web")],
        pods=[pod("db", ready=True), pod("web", ready=True)],
        services=[node_port, balanced],
    )
    endpoints = {(e.host, e.port): e for e in result.endpoints}
    assert endpoints[("web", 443)].url == "tcp://192.0.2.5:31443"
    assert endpoints[("db", 5432)].url == "tcp://lb.example:5432"
    fixed = instance_status(
        "i1",
        Observed(namespace=NAMESPACE, pods=[pod("web", ready=True)], services=[node_port]),
        access_address="range.example",
    )
    assert fixed.endpoints[0].url == "tcp://range.example:31443"


def test_capacity_is_allocatable_minus_requests_on_schedulable_nodes() -> None:
    def node(name: str, cpu: str, memory: str, **spec: Any) -> dict[str, Any]:
        return {
            "metadata": {"name": name},
            "spec": spec,
            "status": {
                "allocatable": {"cpu": cpu, "memory": memory, "nvidia.com/gpu": "1"},
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        }

    def running(node_name: str, cpu: str, memory: str, phase: str = "Running") -> dict[str, Any]:
        return {
            "spec": {
                "nodeName": node_name,
                "containers": [{"resources": {"requests": {"cpu": cpu, "memory": memory}}}],
            },
            "status": {"phase": phase},
        }

    nodes = [
        node("a", "4", "8Gi"),
        node("b", "2", "4Gi"),
        node("cordoned", "64", "256Gi", unschedulable=True),
        node(
            "control",
            "8",
            "16Gi",
            taints=[{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
        ),
    ]
    pods = [
        running("a", "1500m", "1Gi"),
        running("b", "3", "1Gi"),
        running("a", "1", "1Gi", phase="Succeeded"),
    ]
    total, free = observed_capacity(nodes, pods)
    assert (total.cpu_millicores, total.memory_mib, total.gpus) == (6000, 12288, 2)
    assert (free.cpu_millicores, free.memory_mib) == (2500, 10240)  # node b is overcommitted: 0, not -1000
