"""The Docker connector under the contract against Podman's Docker-compatible API
(`.ci/start-podman.sh` starts it on FEDERANGE_TEST_PODMAN_URL, default unix:///run/podman/podman.sock).
Skipped with the reason when no Podman API answers, unless FEDERANGE_TEST_REQUIRE names `podman`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import docker
import pytest

from tests.contract.harness_docker import DockerHarness
from tests.support.images import ensure_busybox_image, unreachable
from tests.support.requirements import skip_or_fail

MARKS = (pytest.mark.docker,)

PODMAN_URL = os.environ.get("FEDERANGE_TEST_PODMAN_URL", "unix:///run/podman/podman.sock")


class PodmanHarness(DockerHarness):
    kind = "podman"


@contextmanager
def harness() -> Iterator[PodmanHarness]:
    reason = unreachable(PODMAN_URL)
    if reason:
        skip_or_fail(
            "podman", f"no Podman API answers at {PODMAN_URL} (.ci/start-podman.sh starts one): {reason}"
        )
    api = docker.APIClient(base_url=PODMAN_URL, version="1.41", timeout=30)
    try:
        api.ping()
    except Exception as exc:  # the reason goes into the skip message
        api.close()
        reason = f"no Podman API answers at {PODMAN_URL} (.ci/start-podman.sh starts one): {exc}"
        skip_or_fail("podman", reason)
    h = PodmanHarness(api, ensure_busybox_image(api), url=PODMAN_URL)
    try:
        yield h
    finally:
        h.close()
        api.close()
