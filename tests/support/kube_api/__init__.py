"""An in-process Kubernetes API server for tests (see server.py for what it serves and simplifies)."""

from __future__ import annotations

from tests.support.kube_api.kubelet import NodeSpec, Timing
from tests.support.kube_api.server import TOKEN, KubeApiServer

__all__ = ["TOKEN", "KubeApiServer", "NodeSpec", "Timing"]
