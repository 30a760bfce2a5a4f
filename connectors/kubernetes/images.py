"""Images a scenario builds itself, on a Kubernetes range: where nodes pull them from, and whether the
registry holds them.

A Kubernetes range names a registry in its connector config (`registry: host[:port][/path]`, an
`http://` prefix for a registry without TLS); a built image `federange/<scenario>/<host>:<content tag>`
runs as `<registry>/federange/<scenario>/<host>:<content tag>`, and `federange scenario build --range`
pushes it there. Before applying anything, deploy asks the registry (Docker Registry HTTP API v2,
anonymous `HEAD /v2/<repository>/manifests/<tag>`) for every built image and refuses when one is missing.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from connectors.base import ConnectorError, ConnectorRefusal
from scenarios.images import is_pinned
from scenarios.model import Host, Scenario

MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)


def registry_address(registry: str) -> str:
    """The registry as image references spell it (no scheme)."""
    return registry.removeprefix("http://").removeprefix("https://").rstrip("/")


def pull_reference(registry: str, image: str) -> str:
    if not registry:
        raise ConnectorRefusal(
            f"image {image} is built by its scenario, and this Kubernetes range names no registry its nodes "
            "pull such images from (connector config 'registry')"
        )
    return f"{registry_address(registry)}/{image}"


def image_of(host: Host, *, registry: str) -> str:
    """The image a host's container runs; ConnectorRefusal for a built image without a content tag or a
    range without a registry."""
    if host.build is None:
        assert host.image is not None  # a host without build has an image (model validator)
        return host.image
    if not is_pinned(host) or host.image is None:
        raise ConnectorRefusal(
            f"host {host.name} builds its image, but this deploy was not given the image's content tag "
            "(the deployer pins built images with scenarios.images.pin)"
        )
    return pull_reference(registry, host.image)


def _manifest_url(registry: str, reference: str) -> str:
    scheme = "http" if registry.startswith("http://") else "https"
    name, _, tag = reference.removeprefix(registry_address(registry) + "/").rpartition(":")
    return f"{scheme}://{registry_address(registry)}/v2/{name}/manifests/{tag}"


def missing_images(registry: str, images: Sequence[str], *, timeout: float) -> list[str]:
    """The built images (content tags) the registry does not hold; ConnectorError when it cannot say."""
    missing = []
    with httpx.Client(timeout=timeout, headers={"Accept": MANIFEST_TYPES}) as client:
        for image in images:
            url = _manifest_url(registry, pull_reference(registry, image))
            try:
                answer = client.head(url)
            except httpx.HTTPError as exc:
                raise ConnectorError(f"registry {registry} did not answer for {image}: {exc}") from exc
            if answer.status_code == 404:
                missing.append(image)
            elif answer.status_code != 200:
                raise ConnectorError(
                    f"registry {registry} answered {answer.status_code} for {image} (only anonymous reads "
                    "are supported for the check)"
                )
    return missing


def check_built_images(scenario: Scenario, registry: str, *, timeout: float) -> None:
    """Refuse, before anything is applied, when the registry lacks an image the scenario builds."""
    built = sorted({h.image for h in scenario.spec.hosts if h.build is not None and h.image})
    for image in built:
        pull_reference(registry, image)
    missing = missing_images(registry, built, timeout=timeout) if built else []
    if missing:
        raise ConnectorRefusal(
            f"scenario {scenario.ref} runs images it builds itself that the range's registry {registry} "
            f"does not hold: {', '.join(missing)}; build and push them first: "
            f"'federange scenario build {scenario.metadata.name} --range <this range's file>'"
        )
