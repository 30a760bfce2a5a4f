"""Images on a Docker engine beyond pulling: building scenario images, moving them to another engine
(save/load over the API) and pushing them to a registry.

A build streams the engine's output line by line to the caller and fails with the last lines of the
step that failed. Builds use the engine's classic builder with `pull=False`: the base comes from a build
argument and is on the engine already (no registry may be reachable), and the build cache makes an
unchanged step cost nothing. Long steps (apt-get) may print nothing for a while, so reads wait up to
BUILD_READ_TIMEOUT rather than the connector's api_timeout.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import docker
import docker.errors

from connectors.base import ConnectorError, ImageBuild
from connectors.docker.engine import Engine, explain

logger = logging.getLogger(__name__)

#: Seconds one read of a build, load or push stream may wait for the engine's next line.
BUILD_READ_TIMEOUT = 1800
#: Output lines kept to explain a failed build.
TAIL_LINES = 30


def has_image(engine: Engine, image: str) -> bool:
    try:
        engine.call(f"inspect image {image}", lambda: engine.api.inspect_image(image))
    except docker.errors.NotFound:
        return False
    except docker.errors.APIError as exc:
        raise engine.refused(f"inspect image {image}", exc) from exc
    return True


def missing_images(engine: Engine, images: Sequence[str]) -> list[str]:
    return [image for image in images if not has_image(engine, image)]


def _long_client(engine: Engine) -> docker.APIClient:
    """A client for one long streaming request (its own timeout, its own connection)."""
    return engine.client(timeout=BUILD_READ_TIMEOUT)


def _follow(
    messages: Iterable[Mapping[str, Any]], *, what: str, on_line: Callable[[str], None]
) -> Mapping[str, Any]:
    """Pass every line of a JSON message stream on; raise ConnectorError with the tail on an error
    message. Returns the last `aux` payload (a build's image id)."""
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    aux: Mapping[str, Any] = {}
    for message in messages:
        if message.get("error") or message.get("errorDetail"):
            detail = message.get("errorDetail") or {}
            error = str(message.get("error") or detail.get("message") or "failed")
            shown = "\n".join(tail)
            raise ConnectorError(f"{what}: {error.strip()}" + (f"\nlast output:\n{shown}" if shown else ""))
        text = str(message.get("stream") or message.get("status") or "").rstrip("\n")
        if message.get("progress") or not text:
            pass
        else:
            for line in text.splitlines():
                tail.append(line)
                on_line(line)
        if isinstance(message.get("aux"), Mapping):
            aux = message["aux"]
    return aux


def build_image(engine: Engine, build: ImageBuild, *, on_line: Callable[[str], None]) -> str:
    """Build `build` on the engine and tag it; returns the image id."""
    what = f"build {build.tag} from {build.context}"
    client = _long_client(engine)
    try:
        stream = client.build(
            path=str(build.context),
            dockerfile=build.containerfile,
            tag=build.tag,
            buildargs=dict(build.args),
            labels=dict(build.labels),
            rm=True,
            forcerm=True,
            pull=False,
            decode=True,
        )
        _follow(stream, what=what, on_line=on_line)
        details = client.inspect_image(build.tag)
    except docker.errors.APIError as exc:
        raise ConnectorError(f"{what}: the engine refused: {explain(exc)}") from exc
    except (OSError, docker.errors.DockerException) as exc:
        raise ConnectorError(f"{what}: {exc}") from exc
    finally:
        client.close()
    image_id = str(details.get("Id", ""))
    logger.info("built %s (%s)", build.tag, image_id[:19])
    return image_id


def export_image(engine: Engine, image: str) -> Iterator[bytes]:
    """The image as a `docker save` archive, streamed in chunks (the client closes at the end)."""
    client = _long_client(engine)
    try:
        yield from client.get_image(image)
    except docker.errors.APIError as exc:
        raise ConnectorError(f"export image {image}: the engine refused: {explain(exc)}") from exc
    finally:
        client.close()


def load_images(engine: Engine, archive: Iterable[bytes]) -> None:
    """Load a `docker save` archive into the engine (the request body is streamed, chunk by chunk)."""
    client = _long_client(engine)
    try:
        _follow(client.load_image(iter(archive)), what="load images", on_line=lambda line: None)
    except docker.errors.APIError as exc:
        raise ConnectorError(f"load images: the engine refused: {explain(exc)}") from exc
    finally:
        client.close()


def push_image(engine: Engine, image: str, reference: str, *, on_line: Callable[[str], None]) -> None:
    """Tag `image` as `reference` and push it (credentials: the engine client's docker config)."""
    repository, _, tag = reference.rpartition(":")
    if not repository or "/" in tag:
        raise ConnectorError(f"push {image}: '{reference}' is not registry/repository:tag")
    client = _long_client(engine)
    try:
        client.tag(image, repository, tag)
        _follow(
            client.push(repository, tag=tag, stream=True, decode=True),
            what=f"push {reference}",
            on_line=on_line,
        )
    except docker.errors.APIError as exc:
        raise ConnectorError(f"push {reference}: the engine refused: {explain(exc)}") from exc
    finally:
        client.close()
