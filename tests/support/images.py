"""Container images the tests use (no registry is reachable): busybox built from the host's static busybox
binary by connectors.docker.localimage, imported as `local/busybox:test` once per engine; and the base
image scenario builds start from (`FEDERANGE_BASE_IMAGE`, default local/debian:bookworm, made by
.ci/base-image.sh), which the tests only look for."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import docker
import docker.errors

from connectors.docker.localimage import LocalImageError
from connectors.docker.localimage import ensure_busybox_image as _ensure
from scenarios.images import base_image
from tests.support.requirements import skip_or_fail

__all__ = [
    "BUSYBOX",
    "BUSYBOX_IMAGE",
    "DOCKER_URL",
    "docker_api",
    "ensure_base_image",
    "ensure_busybox_image",
]

BUSYBOX = Path(os.environ.get("FEDERANGE_TEST_BUSYBOX", "/bin/busybox"))
BUSYBOX_IMAGE = "local/busybox:test"
DOCKER_URL = os.environ.get("FEDERANGE_TEST_DOCKER_URL", "unix:///var/run/docker.sock")


def unreachable(url: str) -> str:
    """Why nothing listens on a `unix://` engine socket ("" when something does). Checked with a socket of
    our own: the Docker SDK leaks the socket of a connection that fails (it never closes it)."""
    if not url.startswith("unix://"):
        return ""
    path = url.removeprefix("unix://")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(5)
        try:
            probe.connect(path)
        except OSError as exc:
            return f"cannot connect to {path}: {exc}"
    return ""


def docker_api(url: str = DOCKER_URL) -> docker.APIClient:
    """A low-level client for the test engine, or skip (fail in CI) when none answers."""
    reason = unreachable(url)
    if reason:
        skip_or_fail("docker", f"no Docker engine answers at {url}: {reason}")
    client = docker.APIClient(base_url=url, version="1.41", timeout=30)
    try:
        client.ping()
    except Exception as exc:  # the reason goes into the skip message
        client.close()
        skip_or_fail("docker", f"no Docker engine answers at {url}: {exc}")
    return client


def ensure_busybox_image(api: docker.APIClient, tag: str = BUSYBOX_IMAGE) -> str:
    """Import the busybox image unless the engine already has it from the same binary; returns the tag."""
    try:
        return _ensure(api, tag, binary=BUSYBOX)
    except LocalImageError as exc:
        skip_or_fail("docker", str(exc))
        raise


def ensure_base_image(api: docker.APIClient) -> str:
    """The base image scenario builds use, which must be on the engine already (it is made from Debian's
    packages by .ci/base-image.sh, a minute of debootstrap); skip (fail in CI) when it is not."""
    base = base_image()
    try:
        api.inspect_image(base)
    except docker.errors.NotFound:
        skip_or_fail("docker", f"the base image {base} is not on the engine: run .ci/base-image.sh first")
    return base
