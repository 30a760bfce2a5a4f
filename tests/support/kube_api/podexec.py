"""pods/exec for the API double: the WebSocket exchange `kubectl exec` and the client's `stream()` make
(protocol v4.channel.k8s.io: binary frames whose first byte is the channel - 1 stdout, 2 stderr, 3 the
final status as a metav1.Status JSON), answered by a test-provided handler that runs the command.

The double has no containers, so a test says what running a command means (`KubeApiServer.exec_handler`:
(namespace, pod, container, argv) -> (exit code, stdout, stderr), e.g. a subprocess on this machine);
the pod must exist and be Running, as on a real API server.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
from collections.abc import Callable
from typing import Any

ExecHandler = Callable[[str, str, str, list[str]], tuple[int, bytes, bytes]]
PROTOCOL = "v4.channel.k8s.io"
_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
EXEC_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)/exec$")


def _frame(opcode: int, payload: bytes) -> bytes:
    size = len(payload)
    if size < 126:
        head = struct.pack(">BB", 0x80 | opcode, size)
    elif size < 65536:
        head = struct.pack(">BBH", 0x80 | opcode, 126, size)
    else:
        head = struct.pack(">BBQ", 0x80 | opcode, 127, size)
    return head + payload


def status(code: int) -> dict[str, Any]:
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def serve_exec(
    handler: Any, *, namespace: str, pod: str, query: dict[str, list[str]], run: ExecHandler
) -> None:
    """Upgrade the connection, run the command, stream its output and status, close."""
    key = handler.headers.get("Sec-WebSocket-Key", "")
    accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
    handler.send_response(101, "Switching Protocols")
    handler.send_header("Upgrade", "websocket")
    handler.send_header("Connection", "Upgrade")
    handler.send_header("Sec-WebSocket-Accept", accept)
    handler.send_header("Sec-WebSocket-Protocol", PROTOCOL)
    handler.end_headers()
    container = (query.get("container") or [""])[0]
    code, out, err = run(namespace, pod, container, list(query.get("command") or []))
    for channel, data in ((1, out), (2, err)):
        if data:
            handler.wfile.write(_frame(0x2, bytes([channel]) + data))
    handler.wfile.write(_frame(0x2, bytes([3]) + json.dumps(status(code)).encode()))
    handler.wfile.write(_frame(0x8, struct.pack(">H", 1000)))
    handler.wfile.flush()
    handler.close_connection = True
