"""Images a scenario builds itself (`build:` hosts): their content tags, and a scenario pinned to them.

A built image is tagged by its content: the SHA-256 of every file of its build context (relative path,
whether it is executable, bytes; symlinks by target), the Containerfile's name and the build arguments,
`BASE` included. The same bundle and base always give the same tag, on any machine, so a builder skips an
image the engine already holds and a range can be asked "do you have it?" before anything is deployed;
any change to the context or the base gives a new tag, never a silently different image under an old one.

The base image is a build argument (`ARG BASE` / `FROM ${BASE}`) because no container registry may be
reachable: a machine builds on a base it made itself. Its name is one setting, `FEDERANGE_BASE_IMAGE`
(default `local/debian:bookworm`), read by `base_image`: the builder, the deployer and the tests must use
the same one, or the tags they compute differ (and a deploy says the image is missing).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from scenarios.bundle import Bundle, resolve_inside
from scenarios.model import CONTENT_TAG_LENGTH, Host, Scenario

BASE_ARG = "BASE"
BASE_ENV = "FEDERANGE_BASE_IMAGE"
DEFAULT_BASE = "local/debian:bookworm"
#: Repository of a built image whose host names none: federange/<scenario>/<host>.
DEFAULT_NAMESPACE = "federange"
#: Hex digits of the content digest in a tag.
TAG_LENGTH = CONTENT_TAG_LENGTH
#: Labels every built image carries, so an engine's image says where it came from.
LABEL_SCENARIO = "eu.federange.scenario"
LABEL_HOST = "eu.federange.host"
LABEL_DIGEST = "eu.federange.content-digest"
LABEL_BASE = "eu.federange.base"


def base_image(environ: Mapping[str, str] | None = None) -> str:
    """The base image builds and deploys use: `FEDERANGE_BASE_IMAGE`, else `local/debian:bookworm`."""
    value = (os.environ if environ is None else environ).get(BASE_ENV, "").strip()
    return value or DEFAULT_BASE


@dataclass(frozen=True, kw_only=True)
class BuiltImage:
    """One host image of a scenario, as a builder makes it."""

    scenario: str
    host: str
    #: The build context directory (absolute) and the Containerfile's name inside it.
    context: Path
    containerfile: str
    #: The build arguments, BASE included.
    args: Mapping[str, str]
    #: Hex SHA-256 of context + Containerfile name + args; `tag` ends in its first TAG_LENGTH digits.
    digest: str
    tag: str

    @property
    def labels(self) -> dict[str, str]:
        return {
            LABEL_SCENARIO: self.scenario,
            LABEL_HOST: self.host,
            LABEL_DIGEST: self.digest,
            LABEL_BASE: self.args.get(BASE_ARG, ""),
        }


def context_digest(context: Path, *, containerfile: str, args: Mapping[str, str]) -> str:
    """The content digest of a build (see the module docstring). File order, times and owners do not
    count, nor do directories by themselves (git keeps no empty ones, so a fresh clone gives the same
    tag); the executable bit does (a script that loses it is a different image)."""
    digest = hashlib.sha256()
    digest.update(f"containerfile\0{containerfile}\0".encode())
    for key in sorted(args):
        digest.update(f"arg\0{key}\0{args[key]}\0".encode())
    for path in sorted(context.rglob("*"), key=lambda p: p.relative_to(context).as_posix()):
        name = path.relative_to(context).as_posix()
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            digest.update(f"link\0{name}\0{os.readlink(path)}\0".encode())
        elif stat.S_ISREG(info.st_mode):
            executable = "x" if info.st_mode & 0o111 else "-"
            digest.update(f"file\0{name}\0{executable}\0{info.st_size}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def repository_of(scenario: Scenario, host: Host) -> str:
    return host.image or f"{DEFAULT_NAMESPACE}/{scenario.metadata.name}/{host.name}"


def built_image(bundle: Bundle, host: Host, *, base: str) -> BuiltImage:
    """The built image of one `build:` host; ValueError when its context is missing or outside the
    bundle (`build_problems` reports the same for validation)."""
    if host.build is None:
        raise ValueError(f"host {host.name} does not build its image")
    context = resolve_inside(bundle.directory, host.build.context)
    if not (context / host.build.containerfile).is_file():
        raise ValueError(
            f"host {host.name}: no {host.build.containerfile} in build context {host.build.context}"
        )
    args = {**host.build.args, BASE_ARG: base}
    digest = context_digest(context, containerfile=host.build.containerfile, args=args)
    return BuiltImage(
        scenario=bundle.scenario.metadata.name,
        host=host.name,
        context=context,
        containerfile=host.build.containerfile,
        args=args,
        digest=digest,
        tag=f"{repository_of(bundle.scenario, host)}:{digest[:TAG_LENGTH]}",
    )


def built_images(bundle: Bundle, *, base: str) -> list[BuiltImage]:
    """Every image the scenario builds, one per `build:` host, in host order."""
    return [built_image(bundle, h, base=base) for h in bundle.scenario.spec.hosts if h.build is not None]


def pin(scenario: Scenario, images: list[BuiltImage]) -> Scenario:
    """The scenario with every `build:` host's `image` set to its content tag: what a connector deploys.
    The `build` stays, so a connector knows the image is built (looked for, never pulled)."""
    tags = {i.host: i.tag for i in images}
    missing = [h.name for h in scenario.spec.hosts if h.build is not None and h.name not in tags]
    if missing:
        raise ValueError(f"no built image given for host(s) {', '.join(missing)}")
    hosts = [h.model_copy(update={"image": tags[h.name]}) if h.build else h for h in scenario.spec.hosts]
    return scenario.model_copy(update={"spec": scenario.spec.model_copy(update={"hosts": hosts})})


def pinned(bundle: Bundle, *, base: str) -> Scenario:
    """The bundle's scenario with its built images pinned (see `pin`)."""
    return pin(bundle.scenario, built_images(bundle, base=base))


def is_pinned(host: Host) -> bool:
    """Whether a `build:` host carries its content tag (a connector refuses to deploy it otherwise)."""
    if host.build is None or host.image is None:
        return False
    _, _, tag = host.image.rpartition(":")
    return len(tag) == TAG_LENGTH and "/" not in tag
