"""Commands run inside a host's pod through the API server (pods/exec over a WebSocket), for the
connector's optional `run` capability (walkthroughs): the same call `kubectl exec` makes.

The exit status comes from the exec's status channel (`Success`, or `NonZeroExitCode` with the code).
A command still running at the deadline is reported with `exit_code=None`; closing the stream ends it.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Sequence

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import stream

from connectors.base import CommandResult, ConnectorError
from connectors.kubernetes.apiserver import ApiServer

#: Characters of output kept per stream.
OUTPUT_LIMIT = 1024 * 1024


def exit_code(status: str) -> int | None:
    """The exit code in an exec status message (`{"status": "Success"}` is 0)."""
    if not status:
        return None
    try:
        data = json.loads(status)
    except ValueError:
        return None
    if data.get("status") == "Success":
        return 0
    for cause in (data.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message"))
            except (TypeError, ValueError):
                return None
    return 1


def run_in_pod(
    api: ApiServer, *, namespace: str, pod: str, container: str, argv: Sequence[str], timeout: float
) -> CommandResult:
    api.limiter.acquire()
    core = client.CoreV1Api(api.api)
    try:
        session = stream(
            core.connect_get_namespaced_pod_exec,
            pod,
            namespace,
            container=container,
            command=list(argv),
            stdin=False,
            stdout=True,
            stderr=True,
            tty=False,
            _preload_content=False,
            _request_timeout=(api.connect_timeout, api.request_timeout),
        )
    except ApiException as exc:
        raise ConnectorError(f"exec in pod {namespace}/{pod}: {exc.status} {exc.reason}") from exc
    out: list[str] = []
    err: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        while session.is_open() and time.monotonic() < deadline:
            session.update(timeout=min(1.0, max(0.0, deadline - time.monotonic())))
            if session.peek_stdout():
                out.append(session.read_stdout())
            if session.peek_stderr():
                err.append(session.read_stderr())
        finished = not session.is_open()
        status = session.read_channel(3) if finished else ""
    finally:
        session.close()
        # websocket-client leaves the socket open when the server closed first: shut it down ourselves
        with contextlib.suppress(OSError, AttributeError):
            session.sock.shutdown()
    stdout, stderr = "".join(out)[:OUTPUT_LIMIT], "".join(err)[:OUTPUT_LIMIT]
    if not finished:
        return CommandResult(exit_code=None, stdout=stdout, stderr=stderr)
    return CommandResult(exit_code=exit_code(status), stdout=stdout, stderr=stderr)
