"""The API served from a background thread of the calling process (`federange demo`, the test suite):
a real uvicorn server on a local port, reached over HTTP like any other Federange server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from orchestrator.api.app import create_app
from orchestrator.wiring import Services


def free_port(host: str = "127.0.0.1") -> int:
    """A port the operating system has just found free on `host`."""
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serve_in_background(
    services: Services,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    start_timeout: float = 15.0,
    with_console: bool | None = None,
) -> Iterator[str]:
    """Serve the API on `host:port` (a free port by default) until the block ends; yields the base URL."""
    port = port or free_port(host)
    config = uvicorn.Config(
        create_app(services, with_console=with_console),
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="federange-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise RuntimeError(f"the API server did not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
