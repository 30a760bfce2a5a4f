"""Fixtures for connector tests on the real Docker engine (skipped, or failed in CI, without one)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import docker
import pytest

from tests.contract.harness_docker import docker_config
from tests.support.images import docker_api, ensure_busybox_image


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[docker.APIClient]:
    api = docker_api()
    yield api
    api.close()


@pytest.fixture(scope="session")
def busybox_image(docker_engine: docker.APIClient) -> str:
    return ensure_busybox_image(docker_engine)


@pytest.fixture
def range_config(busybox_image: str) -> dict[str, Any]:
    """A Docker range's connector config for the test engine (busybox:1.36 -> the local image)."""
    return docker_config(busybox_image)
