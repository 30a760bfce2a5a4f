"""The Docker connector under the contract, against the real engine (FEDERANGE_TEST_DOCKER_URL, default
the local socket) with the locally built busybox image standing in for `busybox:1.36`.

Partial failure is arranged the way it happens on a shared engine: another container already holds the
name of the instance's second host, so the deploy creates the networks and the first container, then
stops with the engine's 409 as its reason.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import docker.errors
import pytest

from connectors import registry
from connectors.base import Connector, InstanceSpec
from connectors.docker import naming
from connectors.docker.connector import DockerConnector
from connectors.docker.observe import instance_holdings
from scenarios.model import Scenario
from tests.contract.harness import contract_scenario
from tests.support.images import DOCKER_URL, docker_api, ensure_busybox_image

MARKS = (pytest.mark.docker,)

SQUATTER_LABEL = "federange.test/squatter"


def docker_config(image: str, *, url: str = DOCKER_URL) -> dict[str, Any]:
    """The range config the tests use: scenario busybox mapped to the local image, nothing pulled."""
    return {"base_url": url, "image_map": {"busybox:1.36": image}, "pull": "never", "api_timeout": 30}


class DockerHarness:
    kind = "docker"
    ready_timeout = 30.0

    def __init__(self, api: docker.APIClient, image: str, *, url: str = DOCKER_URL) -> None:
        self.api = api
        self.image = image
        self.config = docker_config(image, url=url)
        self.squatters: list[str] = []
        self._shared: Connector | None = None

    def connector(self) -> Connector:
        # One connector for the whole module, closed with the harness: no client socket outlives it.
        if self._shared is None:
            self._shared = registry.load("docker", self.config)
        return self._shared

    def scenario(self) -> Scenario:
        return contract_scenario(image="busybox:1.36")

    def failing_scenario(self) -> Scenario:
        return contract_scenario(image="busybox:1.36", failing=True)

    def arrange_partial_failure(self, instance: InstanceSpec) -> None:
        second = instance.scenario.spec.hosts[-1].name
        name = naming.container_name(instance.instance_id, second)
        self.api.create_container(self.image, command=["true"], name=name, labels={SQUATTER_LABEL: "1"})
        self.squatters.append(name)

    def _connector(self) -> DockerConnector:
        connector = self.connector()
        assert isinstance(connector, DockerConnector)
        return connector

    def leftovers(self, instance_id: str) -> Sequence[str]:
        return self._connector().objects(instance_id)

    def labels(self, instance_id: str) -> Sequence[Mapping[str, str]]:
        return instance_holdings(self._connector().engine, instance_id).labels()

    def close(self) -> None:
        if isinstance(self._shared, DockerConnector):
            self._shared.close()
        for name in self.squatters:
            with suppress(docker.errors.NotFound):
                self.api.remove_container(name, force=True)


@contextmanager
def harness() -> Iterator[DockerHarness]:
    api = docker_api()
    h = DockerHarness(api, ensure_busybox_image(api))
    try:
        yield h
    finally:
        h.close()
        api.close()
