"""The Federange image (the repository's Containerfile) on the local base, built once per content.

`ensure_federange_image(api)` makes the base image with .ci/base-image.sh (a no-op when the engine has
it), then builds the Containerfile unless an image with the same content digest exists. The digest
covers what the build reads: the build context the engine receives (the files .dockerignore lets
through, by path, mode and content: never modification times, so a fresh clone of the same commit
reuses the image), the build arguments and the base image's id. The image is tagged with the chart's
default `local/federange:<version>` and carries the digest as a label; the image the tag named before is
removed when nothing else uses it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import docker
from docker.utils.build import exclude_paths

from tests.support.requirements import skip_or_fail

REPO = Path(__file__).resolve().parents[2]
VERSION: str = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
IMAGE = f"local/federange:{VERSION}"
BASE = os.environ.get("FEDERANGE_BASE_IMAGE", "local/debian:bookworm")
EXTRAS = "postgres,kubernetes,docker"
DIGEST_LABEL = "eu.federange.context-digest"
#: The numeric user the Containerfile runs as (the chart's runAsUser).
UID = 10001


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    id: str
    digest: str
    built: bool  # False: an image with this content digest already existed


def context_digest(*, base_id: str, build_args: dict[str, str]) -> str:
    """What the build depends on, as sha256 hex."""
    patterns = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [p.strip() for p in patterns if p.strip() and not p.startswith("#")]
    digest = hashlib.sha256()
    for name in sorted(exclude_paths(str(REPO), patterns, dockerfile="Containerfile")):
        path = REPO / name
        if path.is_dir() and not path.is_symlink():
            continue
        digest.update(f"{name}\0{path.stat().st_mode & 0o111:o}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for key in sorted(build_args):
        digest.update(f"arg {key}={build_args[key]}\0".encode())
    digest.update(f"base {base_id}\0".encode())
    return digest.hexdigest()


def ensure_base_image(api: docker.APIClient) -> str:
    """The base image's id, made by .ci/base-image.sh when missing (about a minute the first time)."""
    done = subprocess.run(
        ["bash", str(REPO / ".ci" / "base-image.sh")],
        env={**os.environ, "FEDERANGE_BASE_IMAGE": BASE},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        skip_or_fail(
            "docker", f"cannot make the base image {BASE}: {done.stdout[-1500:]}{done.stderr[-1500:]}"
        )
    image_id: str = api.inspect_image(BASE)["Id"]
    return image_id


def ensure_federange_image(api: docker.APIClient) -> BuiltImage:
    base_id = ensure_base_image(api)
    build_args = {"BASE": BASE, "EXTRAS": EXTRAS, "VERSION": VERSION}
    digest = context_digest(base_id=base_id, build_args=build_args)
    existing = api.images(filters={"label": f"{DIGEST_LABEL}={digest}"})
    if existing:
        image_id = existing[0]["Id"]
        api.tag(image_id, IMAGE.rsplit(":", 1)[0], tag=VERSION)
        return BuiltImage(tag=IMAGE, id=image_id, digest=digest, built=False)
    try:
        previous: str = api.inspect_image(IMAGE)["Id"]
    except docker.errors.ImageNotFound:
        previous = ""
    log: list[str] = []
    image_id = ""
    for chunk in api.build(
        path=str(REPO),
        dockerfile="Containerfile",
        tag=IMAGE,
        buildargs=build_args,
        labels={DIGEST_LABEL: digest},
        rm=True,
        forcerm=True,
        decode=True,
        timeout=1800,
    ):
        if "stream" in chunk:
            log.append(chunk["stream"])
        if "error" in chunk:
            raise AssertionError(f"building {IMAGE} failed: {chunk['error']}\n{''.join(log)[-6000:]}")
        if "aux" in chunk and "ID" in chunk["aux"]:
            image_id = chunk["aux"]["ID"]
    if not image_id:
        image_id = api.inspect_image(IMAGE)["Id"]
    if previous and previous != image_id:
        forget(api, previous)
    return BuiltImage(tag=IMAGE, id=image_id, digest=digest, built=True)


def forget(api: docker.APIClient, image_id: str) -> None:
    """Remove the image the tag named before this build (and its layers no other image shares), so that CI
    runs on one machine do not pile up an image per commit; one still in use (a tag, a container) stays."""
    try:
        if not api.inspect_image(image_id).get("RepoTags"):
            api.remove_image(image_id)
    except docker.errors.APIError:
        pass
