"""A real Federange API server on 127.0.0.1 in a background thread, reached over HTTP by tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from orchestrator.api.embedded import free_port, serve_in_background
from orchestrator.wiring import Services

__all__ = ["free_port", "serve"]


@contextmanager
def serve(services: Services) -> Iterator[str]:
    with serve_in_background(services) as url:
        yield url
