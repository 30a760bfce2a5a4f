"""The Docker connector: small ranges run by one Docker Engine or Podman's Docker-compatible API.

The connector is connectors.docker.connector.DockerConnector; its config schema, connectors.docker.config
(which imports no Docker SDK, so the orchestrator reads it without the `docker` package).
"""
