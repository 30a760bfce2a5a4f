"""A real Federange API server on 127.0.0.1 in a background thread, reached over HTTP by tests
(`serve(services)` yields its base URL)."""

from __future__ import annotations

from orchestrator.api.embedded import free_port
from orchestrator.api.embedded import serve_in_background as serve

__all__ = ["free_port", "serve"]
