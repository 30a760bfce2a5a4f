"""`federange scenario build NAME`: build a scenario's own images and make them available to ranges.

Images are built on a Docker engine (`--engine`, default the local one) and tagged by content
(scenarios.images): an image the engine already holds under its tag is not built again. Each range named
with `--range FILE` (the range document an operator registers: `connector: {kind, config}`) then gets
the images the way its kind takes them: a Docker range that is the build engine already has them, another
Docker engine loads them (save/load over the Docker API), a Kubernetes range gets them pushed to the
registry its connector config names (`registry`).

Connectors are reached by kind name (connectors.registry) and their optional image capabilities
(connectors.base: ImageBuilder, ImageStore, RegistryPull).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from connectors import registry
from connectors.base import (
    Connector,
    ConnectorError,
    ConnectorRefusal,
    ImageBuild,
    ImageBuilder,
    ImageStore,
    RegistryPull,
)
from orchestrator.cli import documents, output
from orchestrator.cli.options import current
from orchestrator.cli.scenarios import fail, resolve
from scenarios.bundle import Bundle
from scenarios.images import BASE_ENV, BuiltImage, base_image, built_images

DEFAULT_ENGINE = "unix:///var/run/docker.sock"

EngineOption = typer.Option(
    DEFAULT_ENGINE, "--engine", envvar="FEDERANGE_BUILD_ENGINE", help="Docker engine that builds the images"
)
BaseOption = typer.Option(
    None, "--base", envvar=BASE_ENV, help="Base image: the BASE build argument (local/debian:bookworm)"
)


@dataclass(frozen=True, kw_only=True)
class RangeDocument:
    """The part of a range document these commands use: which connector, configured how."""

    name: str
    kind: str
    config: Mapping[str, Any]


def read_range(path: Path) -> RangeDocument:
    """A range document as `federange ranges register --file` takes it (slug, connector.kind/config)."""
    data = documents.read_mapping(path, option="--range")
    connector = data.get("connector")
    if not isinstance(connector, dict) or not isinstance(connector.get("kind"), str):
        raise typer.BadParameter(f"{path}: no 'connector: {{kind, config}}' in it", param_hint="--range")
    config = connector.get("config") or {}
    if not isinstance(config, dict):
        raise typer.BadParameter(f"{path}: 'connector.config' is not a mapping", param_hint="--range")
    return RangeDocument(name=str(data.get("slug") or path.stem), kind=connector["kind"], config=config)


def local_engine(engine: str) -> RangeDocument:
    return RangeDocument(name=f"docker engine {engine}", kind="docker", config={"base_url": engine})


def open_connector(document: RangeDocument) -> Connector:
    try:
        return registry.load(document.kind, document.config)
    except (ConnectorError, ConnectorRefusal) as exc:
        raise fail(f"range {document.name}: {exc.reason}") from exc
    except LookupError as exc:
        raise fail(f"range {document.name}: {exc}") from exc


def close(connector: object) -> None:
    closer = getattr(connector, "close", None)
    if callable(closer):
        closer()


def builder_of(engine: str) -> tuple[Connector, ImageBuilder]:
    connector = open_connector(local_engine(engine))
    if not isinstance(connector, ImageBuilder):  # pragma: no cover - the docker connector builds
        close(connector)
        raise fail(f"the connector for {engine} cannot build images")
    return connector, connector


def build_all(
    builder: ImageBuilder, images: list[BuiltImage], *, on_line: Callable[[str], None]
) -> list[tuple[BuiltImage, str, float]]:
    """Build each image the engine lacks (one build per tag); (image, 'built' | 'cached', seconds)."""
    done: dict[str, str] = {}
    results = []
    for image in images:
        started = time.monotonic()
        if image.tag not in done:
            if builder.has_image(image=image.tag):
                done[image.tag] = "cached"
            else:
                on_line(f"building {image.tag} (host {image.host}) from {image.context}")
                builder.build_image(
                    build=ImageBuild(
                        tag=image.tag,
                        context=image.context,
                        containerfile=image.containerfile,
                        args=image.args,
                        labels=image.labels,
                    ),
                    on_line=on_line,
                )
                done[image.tag] = "built"
        results.append((image, done[image.tag], time.monotonic() - started))
    return results


def deliver(
    builder: ImageBuilder, target: Connector, tags: list[str], *, on_line: Callable[[str], None]
) -> dict[str, str]:
    """Make `tags` available to the target range; tag -> 'present' | 'loaded' | 'pushed <reference>'."""
    wanted = sorted(set(tags))
    outcome: dict[str, str] = {}
    if isinstance(target, ImageStore):
        missing = target.missing_images(images=wanted)
        for tag in missing:
            on_line(f"loading {tag} into the range's engine")
            target.load_images(archive=builder.export_image(image=tag))
            outcome[tag] = "loaded"
    elif isinstance(target, RegistryPull):
        missing = target.missing_images(images=wanted)
        for tag in missing:
            reference = target.pull_reference(image=tag)
            on_line(f"pushing {tag} as {reference}")
            builder.push_image(image=tag, reference=reference, on_line=on_line)
            outcome[tag] = f"pushed {reference}"
    else:
        raise ConnectorRefusal(
            f"a {getattr(target, 'kind', '?')} range takes no built images (neither an engine that loads "
            "them nor a registry its nodes pull from)"
        )
    return {tag: outcome.get(tag, "present") for tag in wanted}


def prepare(
    bundle: Bundle,
    *,
    engine: str,
    base: str | None,
    targets: list[tuple[RangeDocument, Connector]],
    on_line: Callable[[str], None],
) -> tuple[list[tuple[BuiltImage, str, float]], dict[str, dict[str, str]]]:
    """Build the bundle's images and deliver them to every target; exits 1 with the reason on failure."""
    images = built_images(bundle, base=base or base_image())
    if not images:
        return [], {}
    connector, builder = builder_of(engine)
    try:
        built = build_all(builder, images, on_line=on_line)
        delivered = {
            document.name: deliver(builder, target, [i.tag for i in images], on_line=on_line)
            for document, target in targets
        }
    except (ConnectorError, ConnectorRefusal) as exc:
        raise fail(exc.reason) from exc
    finally:
        close(connector)
    return built, delivered


def build(
    name: str = typer.Argument(..., help="Library NAME[@VERSION], a scenario file or its folder"),
    engine: str = EngineOption,
    base: str | None = BaseOption,
    ranges: list[Path] = typer.Option(
        [], "--range", help="Range document (connector: {kind, config}) to make the images available to"
    ),
) -> None:
    """Build every image a scenario builds itself (build: hosts) and make it available to ranges."""
    bundle = resolve(name)
    quiet = current().machine
    targets = [(document, open_connector(document)) for document in map(read_range, ranges)]
    try:
        built, delivered = prepare(
            bundle,
            engine=engine,
            base=base,
            targets=targets,
            on_line=(lambda line: None) if quiet else lambda line: output.errors.print(line, highlight=False),
        )
    finally:
        for _, connector in targets:
            close(connector)
    rows = [
        {"host": i.host, "image": i.tag, "result": result, "seconds": round(seconds, 1)}
        for i, result, seconds in built
    ]
    if output.machine({"scenario": bundle.scenario.ref, "images": rows, "ranges": delivered}):
        return
    if not rows:
        output.console.print(f"{bundle.scenario.ref} builds no image of its own", highlight=False)
        return
    output.table(
        f"Images of {bundle.scenario.ref}",
        ["host", "image", "result", "seconds"],
        [[r["host"], r["image"], r["result"], r["seconds"]] for r in rows],
    )
    for range_name, images in delivered.items():
        output.table(f"On range {range_name}", ["image", "result"], [[k, v] for k, v in images.items()])
