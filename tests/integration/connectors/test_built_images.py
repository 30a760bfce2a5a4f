"""Images a scenario builds itself, on real components: the Docker connector builds them once (content
tags), runs commands in hosts, refuses a deploy whose built image is missing before creating anything,
and moves images by save/load; a Kubernetes range gets them pushed to a real registry (Debian's
docker-registry on loopback) and refuses a deploy before applying anything while its registry lacks one.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker.errors
import httpx
import pytest

from connectors.base import ConnectorRefusal, InstanceSpec, Phase
from connectors.docker.connector import DockerConnector
from connectors.kubernetes.connector import KubernetesConnector
from orchestrator.cli.scenario_build import build_all, deliver
from scenarios.bundle import Bundle, load_bundle
from scenarios.images import built_images, pinned
from scenarios.materialise import materialise
from scenarios.serialise import dump_yaml
from tests.support.images import DOCKER_URL, docker_api, ensure_busybox_image
from tests.support.kube_api import KubeApiServer

pytestmark = pytest.mark.docker

SCENARIO = """\
apiVersion: federange/v1
kind: Scenario
metadata: {name: built-test, version: 1.0.0, title: Built image test}
spec:
  segments: [{name: lan}]
  hosts:
    - name: app
      build: {context: images/app}
      command: [sleep, "3600"]
      resources: {requests: {cpu_millicores: 10, memory_mib: 16}}
      segments: [lan]
"""


@pytest.fixture(scope="module")
def base() -> str:
    api = docker_api()
    try:
        return ensure_busybox_image(api)
    finally:
        api.close()


@pytest.fixture
def bundle(tmp_path: Path) -> Bundle:
    context = tmp_path / "images" / "app"
    context.mkdir(parents=True)
    (context / "Containerfile").write_text("ARG BASE\nFROM ${BASE}\nCOPY hello.txt /hello.txt\n")
    (context / "hello.txt").write_text(f"hello {uuid.uuid4().hex}\n")  # a fresh content tag per test
    (tmp_path / "scenario.yaml").write_text(SCENARIO)
    return load_bundle(tmp_path / "scenario.yaml")


@pytest.fixture
def docker_range() -> Iterator[DockerConnector]:
    with DockerConnector({"base_url": DOCKER_URL, "pull": "never"}) as connector:
        yield connector


def remove_images(*tags: str) -> None:
    api = docker_api()
    try:
        for tag in tags:
            with contextlib.suppress(docker.errors.NotFound):
                api.remove_image(tag, force=True)
    finally:
        api.close()


def spec_of(bundle: Bundle, base: str, instance_id: str) -> InstanceSpec:
    scenario = pinned(bundle, base=base)
    values = materialise(scenario, seed=b"built", instance_id=instance_id)
    return InstanceSpec(
        instance_id=instance_id, exercise="x", team="t", scenario_document=dump_yaml(scenario), values=values
    )


def test_docker_builds_once_runs_commands_and_refuses_a_missing_image(
    bundle: Bundle, base: str, docker_range: DockerConnector
) -> None:
    (image,) = built_images(bundle, base=base)
    instance_id = f"bi-{uuid.uuid4().hex[:8]}"
    try:
        assert not docker_range.has_image(image=image.tag)
        assert [r for _, r, _ in build_all(docker_range, [image], on_line=lambda line: None)] == ["built"]
        assert [r for _, r, _ in build_all(docker_range, [image], on_line=lambda line: None)] == ["cached"]
        spec = spec_of(bundle, base, instance_id)
        docker_range.deploy(instance=spec)
        assert docker_range.wait_ready(instance_id=instance_id, timeout=60).phase is Phase.READY
        said = docker_range.run(instance_id=instance_id, host="app", argv=["cat", "/hello.txt"], timeout=20)
        assert said.exit_code == 0 and said.stdout == (image.context / "hello.txt").read_text()
        failed = docker_range.run(
            instance_id=instance_id, host="app", argv=["sh", "-c", "echo oops >&2; exit 3"], timeout=20
        )
        assert (failed.exit_code, failed.stdout, failed.stderr) == (3, "", "oops\n")
        slow = docker_range.run(instance_id=instance_id, host="app", argv=["sleep", "30"], timeout=1)
        assert slow.exit_code is None
        docker_range.teardown(instance_id=instance_id)

        archive = b"".join(docker_range.export_image(image=image.tag))
        remove_images(image.tag)
        assert docker_range.missing_images(images=[image.tag]) == [image.tag]
        with pytest.raises(ConnectorRefusal) as refused:
            docker_range.deploy(instance=spec)
        assert image.tag in refused.value.reason
        assert "federange scenario build built-test" in refused.value.reason
        assert docker_range.objects(instance_id) == [], "refused before anything was created"

        docker_range.load_images(
            archive=iter([archive[i : i + 65536] for i in range(0, len(archive), 65536)])
        )
        assert docker_range.missing_images(images=[image.tag]) == []
    finally:
        docker_range.teardown(instance_id=instance_id)
        remove_images(image.tag)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    """Debian's docker-registry (the Distribution registry) on loopback, storing under tmp_path."""
    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.skip("docker-registry is not installed (apt-get install docker-registry)")
    port = free_port()
    config = tmp_path / "registry.yml"
    config.write_text(
        f"version: 0.1\nlog: {{level: error}}\nhttp: {{addr: 127.0.0.1:{port}}}\n"
        f"storage: {{filesystem: {{rootdirectory: {tmp_path / 'store'}}}}}\n"
    )
    errors = tmp_path / "registry.log"
    with errors.open("wb") as sink:
        process = subprocess.Popen([binary, "serve", str(config)], stdout=sink, stderr=sink)
    try:
        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        else:
            pytest.fail(f"docker-registry did not start: {errors.read_text()}")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_kubernetes_range_pulls_built_images_from_its_registry(
    bundle: Bundle, base: str, docker_range: DockerConnector, registry: str
) -> None:
    (image,) = built_images(bundle, base=base)
    address = registry.removeprefix("http://")
    pushed = f"{address}/{image.tag}"
    instance_id = f"bk-{uuid.uuid4().hex[:8]}"
    spec = spec_of(bundle, base, instance_id)
    with KubeApiServer() as api, KubernetesConnector(api.connector_config(qps=0, registry=registry)) as k8s:
        try:
            build_all(docker_range, [image], on_line=lambda line: None)
            assert k8s.missing_images(images=[image.tag]) == [image.tag]
            with pytest.raises(ConnectorRefusal, match="does not hold") as refused:
                k8s.deploy(instance=spec)
            assert image.tag in refused.value.reason
            assert k8s.api.get("Namespace", k8s.namespace(instance_id)) is None, "nothing was applied"

            lines: list[str] = []
            assert deliver(docker_range, k8s, [image.tag], on_line=lines.append) == {
                image.tag: f"pushed {pushed}"
            }
            assert k8s.missing_images(images=[image.tag]) == []
            assert deliver(docker_range, k8s, [image.tag], on_line=lines.append) == {image.tag: "present"}

            k8s.deploy(instance=spec)
            (deployment,) = k8s.api.list("Deployment", namespace=k8s.namespace(instance_id))[0]
            assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == pushed
        finally:
            k8s.teardown(instance_id=instance_id)
            remove_images(image.tag, pushed)


def test_a_range_without_registry_refuses_built_images(bundle: Bundle, base: str) -> None:
    spec = spec_of(bundle, base, "bk-noreg")
    with KubeApiServer() as api, KubernetesConnector(api.connector_config(qps=0)) as k8s:
        with pytest.raises(ConnectorRefusal, match="names no registry"):
            k8s.deploy(instance=spec)
        with pytest.raises(ConnectorRefusal, match="names no registry"):
            k8s.pull_reference(image=spec.scenario.host("app").image or "")
        assert k8s.api.get("Namespace", k8s.namespace("bk-noreg")) is None
