"""The Docker connector: small ranges run by one Docker Engine or Podman's Docker-compatible API."""

from __future__ import annotations

from connectors.docker.connector import DockerConnector

__all__ = ["DockerConnector"]
