"""When a host counts as ready on a Docker range, and why it does not.

A host is ready when its container runs and its readiness probe (if the scenario declares one) passes
inside the container, run through `exec` by the connector on demand (no periodic Docker healthcheck:
its first check waits a whole interval, which slows every deploy, and a probe on demand answers now).

Probes need only a POSIX shell and busybox-level tools in the image:
- tcp_port: a listening socket on the port in /proc/net/tcp{,6} (state 0A), else `nc -z` to 127.0.0.1;
- http: `wget` (busybox has it, bounded by `timeout`), else `curl`, against 127.0.0.1;
- exec: the scenario's command, as is.

A container that exited, was killed for memory, or keeps restarting has failed, with that as the reason.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scenarios.model import Readiness

#: Restarts after which a container that is not running counts as crash-looping.
CRASH_LOOP_RESTARTS = 2
#: A container that restarted this often and has run for less than STABLE_SECONDS is crash-looping.
RESTARTS_UNSTABLE = 3
STABLE_SECONDS = 30.0


def probe_command(readiness: Readiness) -> list[str]:
    """The command to exec in the container; exit status 0 means ready."""
    timeout = readiness.timeout_seconds
    if readiness.tcp_port is not None:
        port = readiness.tcp_port
        listening = f"grep -qE ':{port:04X} [0-9A-F]+:0000 0A' /proc/net/tcp /proc/net/tcp6 2>/dev/null"
        return ["sh", "-c", f"{listening} || nc -z -w {timeout} 127.0.0.1 {port}"]
    if readiness.http is not None:
        url = f"http://127.0.0.1:{readiness.http.port}{readiness.http.path}"
        # busybox wget's own -T crashes in some static builds: bound it with `timeout` where present.
        fetch = f"wget -q -O /dev/null '{url}'"
        return [
            "sh",
            "-c",
            "if command -v wget >/dev/null 2>&1; then "
            f"if command -v timeout >/dev/null 2>&1; then timeout {timeout} {fetch}; else {fetch}; fi; "
            f"else curl -fsS -m {timeout} -o /dev/null '{url}'; fi",
        ]
    assert readiness.exec is not None  # a Readiness has exactly one probe (model validator)
    return list(readiness.exec)


class HostState(enum.StrEnum):
    RUNNING = "running"
    STARTING = "starting"
    FAILED = "failed"
    TERMINATING = "terminating"


@dataclass(frozen=True, kw_only=True)
class Verdict:
    state: HostState
    reason: str = ""


def _parse_time(text: str) -> datetime | None:
    if not text or text.startswith("0001-"):
        return None
    # The engine gives nanoseconds; datetime takes microseconds.
    head, _, rest = text.partition(".")
    fraction = "".join(ch for ch in rest if ch.isdigit())[:6]
    try:
        return datetime.fromisoformat(f"{head}.{fraction or '0'}+00:00")
    except ValueError:
        return None


def running_seconds(state: Mapping[str, Any], *, now: datetime | None = None) -> float:
    started = _parse_time(str(state.get("StartedAt", "")))
    if started is None:
        return 0.0
    return ((now or datetime.now(UTC)) - started).total_seconds()


def container_verdict(
    state: Mapping[str, Any], *, restart_count: int, memory_mib: int, now: datetime | None = None
) -> Verdict:
    """Judge a container from its inspected `State` (before any probe)."""
    status = str(state.get("Status", ""))
    exit_code = state.get("ExitCode", 0)
    oom = bool(state.get("OOMKilled"))
    error = str(state.get("Error") or "")
    ended = f"killed: out of memory (limit {memory_mib} MiB)" if oom else f"exited with code {exit_code}"
    if error:
        ended += f": {error}"
    if status == "running":
        if restart_count >= RESTARTS_UNSTABLE and running_seconds(state, now=now) < STABLE_SECONDS:
            return Verdict(
                state=HostState.FAILED, reason=f"crash loop: restarted {restart_count} times, last {ended}"
            )
        return Verdict(state=HostState.RUNNING)
    if status == "restarting":
        if restart_count >= CRASH_LOOP_RESTARTS:
            return Verdict(
                state=HostState.FAILED, reason=f"crash loop: restarted {restart_count} times, last {ended}"
            )
        return Verdict(state=HostState.STARTING, reason=f"restarting after it {ended}")
    if status in ("exited", "dead"):
        return Verdict(state=HostState.FAILED, reason=ended)
    if status == "created":
        return Verdict(state=HostState.STARTING, reason="created, not started")
    if status == "removing":
        return Verdict(state=HostState.TERMINATING, reason="being removed")
    if status == "paused":
        return Verdict(state=HostState.FAILED, reason="paused on the engine")
    return Verdict(state=HostState.STARTING, reason=f"container state {status or 'unknown'}")
