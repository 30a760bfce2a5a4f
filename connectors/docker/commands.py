"""Commands run inside a container through the engine's exec API, bounded in time and output.

Used for readiness probes and for the connector's optional `run` capability (walkthroughs). The SDK's own
exec reader waits without any timeout, so a command that never ends would hang the caller: here the
attached stream is read with `select` up to a deadline. A command still running then is reported with
`exit_code=None` (the engine offers no way to stop an exec; it ends with the container at the latest).
"""

from __future__ import annotations

import contextlib
import select
import struct
import time
from collections.abc import Mapping, Sequence
from typing import Any

from connectors.base import CommandResult
from connectors.docker.engine import Engine

#: Bytes of output kept per stream; the rest is dropped (a walkthrough prints a few kilobytes).
OUTPUT_LIMIT = 1024 * 1024
_HEADER = struct.Struct(">BxxxL")


class _Frames:
    """Splits the engine's multiplexed exec stream (8-byte header: stream, size) into stdout/stderr."""

    def __init__(self) -> None:
        self.pending = b""
        self.out = bytearray()
        self.err = bytearray()

    def feed(self, data: bytes) -> None:
        self.pending += data
        while len(self.pending) >= _HEADER.size:
            kind, size = _HEADER.unpack_from(self.pending)
            if len(self.pending) < _HEADER.size + size:
                return
            chunk = self.pending[_HEADER.size : _HEADER.size + size]
            self.pending = self.pending[_HEADER.size + size :]
            target = self.err if kind == 2 else self.out
            if len(target) < OUTPUT_LIMIT:
                target += chunk[: OUTPUT_LIMIT - len(target)]


def _read(stream: Any, deadline: float, frames: _Frames) -> bool:
    """Read the attached stream to its end or the deadline; True when it ended."""
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            readable, _, _ = select.select([stream], [], [], left)
            if readable:
                data = stream.read(65536)
                if not data:
                    return True
                frames.feed(data)
    except (OSError, ValueError):
        return True
    finally:
        # The SDK hands over a SocketIO around the connection's socket, with the HTTP response kept on
        # it: close all three, or the socket outlives the command.
        for part in (getattr(stream, "_response", None), stream, getattr(stream, "_sock", None)):
            if part is not None:
                with contextlib.suppress(OSError, ValueError):
                    part.close()


def run_command(
    engine: Engine,
    container: str,
    argv: Sequence[str],
    *,
    timeout: float,
    environment: Mapping[str, str] | None = None,
) -> CommandResult:
    """Run argv in the container; raises the SDK's APIError when the engine refuses (no such
    container, container not running) and ConnectorError when the engine keeps failing."""
    api = engine.api
    created = engine.call(
        f"create exec in {container}",
        lambda: api.exec_create(
            container, list(argv), stdout=True, stderr=True, environment=dict(environment or {}) or None
        ),
    )
    stream = engine.call(f"start exec in {container}", lambda: api.exec_start(created["Id"], socket=True))
    frames = _Frames()
    ended = _read(stream, time.monotonic() + timeout, frames)
    out = frames.out.decode("utf-8", "replace")
    err = frames.err.decode("utf-8", "replace")
    if not ended:
        return CommandResult(exit_code=None, stdout=out, stderr=err)
    result: Mapping[str, Any] = {}
    for _ in range(20):  # the engine may record the exit a moment after the stream closed
        result = engine.call(f"inspect exec in {container}", lambda: api.exec_inspect(created["Id"]))
        if not result.get("Running"):
            break
        time.sleep(0.05)
    code = result.get("ExitCode")
    return CommandResult(exit_code=None if code is None else int(code), stdout=out, stderr=err)
