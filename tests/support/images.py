"""Container images the tests build themselves (no registry is reachable): busybox from the host's
static busybox binary, imported as `local/busybox:test` once per engine (rebuilt when the binary changes).

Every applet is a symlink at its usual path (/bin/sh, /usr/bin/nc, ...), with /etc/passwd (root and
nobody), /tmp (1777) and /root, which is what busybox-based scenarios (`busybox:1.36`) need.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tarfile
import threading
from pathlib import Path

import docker
import docker.errors

from tests.support.requirements import skip_or_fail

BUSYBOX = Path(os.environ.get("FEDERANGE_TEST_BUSYBOX", "/bin/busybox"))
BUSYBOX_IMAGE = "local/busybox:test"
DOCKER_URL = os.environ.get("FEDERANGE_TEST_DOCKER_URL", "unix:///var/run/docker.sock")
_LABEL = "federange.test.busybox-sha256"
_lock = threading.Lock()

_PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
_GROUP = "root:x:0:\nnogroup:x:65534:\n"


def docker_api(url: str = DOCKER_URL) -> docker.APIClient:
    """A low-level client for the test engine, or skip (fail in CI) when none answers."""
    client = docker.APIClient(base_url=url, version="1.41", timeout=30)
    try:
        client.ping()
    except Exception as exc:  # the reason goes into the skip message
        client.close()
        skip_or_fail("docker", f"no Docker engine answers at {url}: {exc}")
    return client


def _entry(
    archive: tarfile.TarFile, name: str, *, mode: int, kind: bytes = tarfile.REGTYPE
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = 0
    return info


def busybox_rootfs(binary: Path = BUSYBOX) -> bytes:
    """A root file system tar: the binary, a symlink per applet, passwd/group, /tmp and /root."""
    applets = subprocess.run(
        [str(binary), "--list-full"], check=True, capture_output=True, text=True
    ).stdout.split()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        folders = sorted({str(Path(a).parent) for a in applets} | {"bin", "etc", "tmp", "root", "usr"})
        for folder in folders:
            archive.addfile(
                _entry(archive, folder, mode=0o1777 if folder == "tmp" else 0o755, kind=tarfile.DIRTYPE)
            )
        data = binary.read_bytes()
        info = _entry(archive, "bin/busybox", mode=0o755)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
        for applet in applets:
            if applet == "bin/busybox":
                continue
            link = _entry(archive, applet, mode=0o777, kind=tarfile.SYMTYPE)
            link.linkname = "/bin/busybox"
            archive.addfile(link)
        for name, text in (("etc/passwd", _PASSWD), ("etc/group", _GROUP)):
            content = text.encode()
            info = _entry(archive, name, mode=0o644)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def ensure_busybox_image(api: docker.APIClient, tag: str = BUSYBOX_IMAGE) -> str:
    """Import the busybox image unless the engine already has it from the same binary; returns the tag."""
    if not BUSYBOX.exists():
        skip_or_fail("docker", f"{BUSYBOX} is missing (apt-get install busybox-static)")
    digest = hashlib.sha256(BUSYBOX.read_bytes()).hexdigest()
    with _lock:
        try:
            labels = (api.inspect_image(tag).get("Config") or {}).get("Labels") or {}
            if labels.get(_LABEL) == digest:
                return tag
        except docker.errors.NotFound:
            pass
        repository, _, version = tag.rpartition(":")
        api.import_image_from_data(
            busybox_rootfs(),
            repository=repository,
            tag=version,
            changes=[f"LABEL {_LABEL}={digest}", 'CMD ["sh"]'],
        )
        try:
            api.inspect_image(tag)
        except docker.errors.NotFound:  # Podman's compatible import ignores the tag: tag it afterwards
            api.tag(f"{repository}:latest", repository, version)
    return tag
