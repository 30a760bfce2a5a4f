"""Every library scenario's walkthrough on a real Kubernetes cluster: the scenario's images are built on
the local Docker engine (on the base named by FEDERANGE_BASE_IMAGE), pushed to the registry the range
names, each scenario is deployed by the Kubernetes connector, provisioned, and its walkthrough recovers
every flag of that instance (inside the attacker pod through pods/exec, or against the NodePorts).

Needs, besides FEDERANGE_E2E_KUBECONFIG (see kubernetes_cluster.py):

    FEDERANGE_E2E_REGISTRY   a registry the cluster's nodes pull from and the local engine pushes to
                             (`host:port`, `http://host:port` for one without TLS)

ctf-starter runs `busybox:1.36`, which the nodes must be able to pull. Hosts running sshd, smbd or sudo
need root with the capabilities a container runtime gives by default (see scenarios/README.md); they run
only where the range's security context grants them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from connectors.docker.connector import DockerConnector
from connectors.kubernetes.connector import KubernetesConnector
from orchestrator.cli.scenario_build import build_all, deliver
from orchestrator.cli.scenario_testing import check_scenario
from scenarios import library
from scenarios.images import built_images
from scenarios.walkthrough import load_solution
from tests.e2e.kubernetes_cluster import ENV_KUBECONFIG, ClusterHarness, kubeconfig_from_env
from tests.support.images import DOCKER_URL, docker_api, ensure_base_image

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(3600)]

ENV_REGISTRY = "FEDERANGE_E2E_REGISTRY"


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[KubernetesConnector, DockerConnector, str]]:
    found = kubeconfig_from_env()
    if found is None:
        pytest.skip(f"{ENV_KUBECONFIG} is not set: no real cluster to run the library's walkthroughs on")
    registry = os.environ.get(ENV_REGISTRY, "").strip()
    if not registry:
        pytest.skip(f"{ENV_REGISTRY} is not set: no registry to push the library's built images to")
    harness = ClusterHarness(*found)
    api = docker_api()
    try:
        base = ensure_base_image(api)
    finally:
        api.close()
    kubernetes = KubernetesConnector({**harness.config, "registry": registry})
    builder = DockerConnector({"base_url": DOCKER_URL})
    try:
        yield kubernetes, builder, base
    finally:
        harness.sweep()
        kubernetes.close()
        builder.close()
        harness.own.close()


@pytest.mark.parametrize("name", library.names())
def test_the_walkthrough_recovers_every_flag_on_kubernetes(
    name: str, cluster: tuple[KubernetesConnector, DockerConnector, str]
) -> None:
    kubernetes, builder, base = cluster
    bundle = library.bundle(name)
    images = built_images(bundle, base=base)
    build_all(builder, images, on_line=lambda line: None)
    deliver(builder, kubernetes, [i.tag for i in images], on_line=lambda line: None)
    solution = load_solution(bundle)
    assert solution is not None
    outcome = check_scenario(
        bundle,
        solution,
        kubernetes,
        range_name="e2e cluster",
        base=base,
        instance_id=f"w{uuid.uuid4().hex[:8]}",
        seed=uuid.uuid4().hex.encode(),
        ready_timeout=600,
        on_line=lambda line: None,
    )
    assert outcome.error == "", f"{name}: {outcome.error}\n{outcome.stderr[-3000:]}"
    assert [v.variable for v in outcome.verdicts if not v.solved] == []
