"""A busybox image built from the host's static busybox binary, for engines that cannot pull.

Air-gapped ranges, laptops without registry access and CI machines still have `/bin/busybox`
(Debian's busybox-static). `ensure_busybox_image` imports a root file system made of that binary, one
symlink per applet at its usual path (/bin/sh, /usr/bin/nc, ...), /etc/passwd and /etc/group (root and
nobody), /tmp (1777) and /root: what busybox-based scenarios (`busybox:1.36`) need. A range maps the
scenario image onto it with its `image_map`. The import is skipped when the engine already holds an image
of the same tag built from the same binary (a content digest label).

`supply_image` is the connector's `ImageSupply` (connectors.capabilities): an image the engine holds, else
pulled, else (a busybox image, no registry) this local build mapped in the range's `image_map`.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import tarfile
import threading
from pathlib import Path
from typing import Any

import docker.errors

from connectors.base import ConnectorError
from connectors.capabilities import SuppliedImage
from connectors.docker.engine import Engine

DEFAULT_BINARY = Path("/bin/busybox")
DIGEST_LABEL = "io.federange.busybox-sha256"
_lock = threading.Lock()

_PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"  # noqa: S105 - account list, no password
_GROUP = "root:x:0:\nnogroup:x:65534:\n"


class LocalImageError(RuntimeError):
    """The image cannot be built here (no busybox binary, or the engine refused the import)."""


def _entry(name: str, *, mode: int, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = 0
    return info


def _add_file(archive: tarfile.TarFile, name: str, content: bytes, mode: int) -> None:
    info = _entry(name, mode=mode)
    info.size = len(content)
    archive.addfile(info, io.BytesIO(content))


def busybox_rootfs(binary: Path = DEFAULT_BINARY) -> bytes:
    """A root file system tar: the binary, a symlink per applet, passwd/group, /tmp and /root."""
    try:
        applets = subprocess.run(  # noqa: S603 - the operator's own binary, no shell
            [str(binary), "--list-full"], check=True, capture_output=True, text=True, timeout=30
        ).stdout.split()
    except (OSError, subprocess.SubprocessError) as exc:
        raise LocalImageError(f"{binary} cannot list its applets: {exc}") from exc
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        folders = sorted({str(Path(a).parent) for a in applets} | {"bin", "etc", "tmp", "root", "usr"})
        for folder in folders:
            archive.addfile(_entry(folder, mode=0o1777 if folder == "tmp" else 0o755, kind=tarfile.DIRTYPE))
        _add_file(archive, "bin/busybox", binary.read_bytes(), 0o755)
        for applet in applets:
            if applet == "bin/busybox":
                continue
            link = _entry(applet, mode=0o777, kind=tarfile.SYMTYPE)
            link.linkname = "/bin/busybox"
            archive.addfile(link)
        _add_file(archive, "etc/passwd", _PASSWD.encode(), 0o644)
        _add_file(archive, "etc/group", _GROUP.encode(), 0o644)
    return buffer.getvalue()


def ensure_busybox_image(api: Any, tag: str, *, binary: Path = DEFAULT_BINARY) -> str:
    """Import the busybox image as `tag` on the engine behind `api` (a docker.APIClient) unless it already
    holds one built from the same binary; returns the tag."""
    if not binary.exists():
        raise LocalImageError(f"{binary} is missing (Debian: apt-get install busybox-static)")
    digest = hashlib.sha256(binary.read_bytes()).hexdigest()
    repository, _, version = tag.rpartition(":")
    with _lock:
        try:
            labels = (api.inspect_image(tag).get("Config") or {}).get("Labels") or {}
            if labels.get(DIGEST_LABEL) == digest:
                return tag
        except docker.errors.NotFound:
            pass
        try:
            api.import_image_from_data(
                busybox_rootfs(binary),
                repository=repository,
                tag=version,
                changes=[f"LABEL {DIGEST_LABEL}={digest}", 'CMD ["sh"]'],
            )
            try:
                api.inspect_image(tag)
            except docker.errors.NotFound:  # Podman's compatible import ignores the tag: tag it afterwards
                api.tag(f"{repository}:latest", repository, version)
        except docker.errors.APIError as exc:
            raise LocalImageError(f"the engine refused to import {tag}: {exc.explanation or exc}") from exc
    return tag


def supply_image(
    engine: Engine, image: str, *, local_tag: str, binary: Path = DEFAULT_BINARY
) -> SuppliedImage:
    """Make `image` runnable on the engine: held already, pulled, or built from the host's busybox as
    `local_tag` (for busybox images on engines that reach no registry); ConnectorError naming why not."""
    api = engine.api
    try:
        engine.call(f"inspect image {image}", lambda: api.inspect_image(image))
        return SuppliedImage(how=f"{image} from the engine")
    except docker.errors.NotFound:
        pass
    repository, _, tag = image.partition(":")
    try:
        engine.call(f"pull image {image}", lambda: api.pull(repository, tag=tag or "latest"), attempts=1)
        engine.call(f"inspect image {image}", lambda: api.inspect_image(image))
        return SuppliedImage(how=f"{image} pulled")
    except (docker.errors.DockerException, ConnectorError):
        pass  # no registry within reach: build it here
    try:
        built = ensure_busybox_image(api, local_tag, binary=binary)
    except LocalImageError as exc:
        raise ConnectorError(f"cannot pull {image} nor build it locally: {exc}") from exc
    return SuppliedImage(
        image_map={image: built},
        how=f"{image} mapped to {local_tag} (built from the host's busybox: no registry)",
    )
