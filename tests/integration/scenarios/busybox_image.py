"""A local stand-in for the public `busybox:1.36` image, built from the machine's busybox-static.

No registry is reachable in CI, so the library's tiny CTF scenario is run on an image imported from
/bin/busybox with every applet linked in /bin (including /bin/sh), plus /etc/passwd, /root and /tmp.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

from tests.support.requirements import skip_or_fail

BUSYBOX = Path("/bin/busybox")
TAG = "local/federange-busybox:scenarios-test"


def _tar() -> bytes:
    applets = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True, check=True).stdout
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:

        def add_dir(name: str, mode: int) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)

        def add_file(name: str, data: bytes, mode: int = 0o644) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))

        for name, mode in (("bin", 0o755), ("etc", 0o755), ("root", 0o700), ("tmp", 0o1777), ("home", 0o755)):
            add_dir(name, mode)
        add_file("bin/busybox", BUSYBOX.read_bytes(), 0o755)
        for applet in applets.split():
            if applet != "busybox":
                link = tarfile.TarInfo(f"bin/{applet}")
                link.type, link.linkname = tarfile.SYMTYPE, "busybox"
                tar.addfile(link)
        add_file(
            "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
        )
        add_file("etc/group", b"root:x:0:\nnogroup:x:65534:\n")
    return out.getvalue()


def ensure_image() -> str:
    """Import the image once (idempotent) and return its tag; skip (or fail in CI) without busybox."""
    if not BUSYBOX.is_file() or shutil.which("docker") is None:
        skip_or_fail(
            "docker", "needs /bin/busybox (busybox-static) and the docker CLI to build a local image"
        )
    if subprocess.run(["docker", "image", "inspect", TAG], capture_output=True, check=False).returncode == 0:
        return TAG
    subprocess.run(
        ["docker", "import", "-c", "ENV PATH=/bin", "-c", 'CMD ["sh"]', "-", TAG],
        input=_tar(),
        capture_output=True,
        check=True,
    )
    return TAG
