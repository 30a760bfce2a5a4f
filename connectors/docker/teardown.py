"""Remove every object of an instance, found by its label, and return only once they are gone.

Order: containers (forced, with their anonymous volumes), then named volumes and networks, which the
engine refuses to remove while a container uses them. A container that is not ours but was attached to
one of our networks (an operator's debugging shell) is disconnected, not removed. Missing objects are
fine (idempotent); the whole removal is bounded by the range's `teardown_timeout`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import docker.errors

from connectors.base import ConnectorError
from connectors.docker.engine import Engine, explain, status_code
from connectors.docker.observe import describe, instance_holdings

logger = logging.getLogger(__name__)


def _ignore_gone(engine: Engine, what: str, request: Any) -> str:
    """Run a removal; '' when done or already gone, else the engine's reason (for the next round)."""
    try:
        engine.call(what, request)
    except docker.errors.NotFound:
        return ""
    except docker.errors.APIError as exc:
        if status_code(exc) == 409 and "in progress" in explain(exc):
            return f"{what}: already being removed"
        return f"{what}: {explain(exc)}"
    return ""


def _remove_network(engine: Engine, network: Mapping[str, Any]) -> str:
    api = engine.api
    name = str(network["Name"])
    try:
        details = engine.call(f"inspect network {name}", lambda: api.inspect_network(network["Id"]))
    except docker.errors.NotFound:
        return ""
    for container_id in details.get("Containers") or {}:
        _ignore_gone(
            engine,
            f"disconnect {container_id[:12]} from {name}",
            lambda c=container_id: api.disconnect_container_from_network(c, network["Id"], force=True),
        )
    return _ignore_gone(engine, f"remove network {name}", lambda: api.remove_network(network["Id"]))


def remove_instance(engine: Engine, instance_id: str) -> None:
    api = engine.api
    deadline = time.monotonic() + engine.config.teardown_timeout
    problems: list[str] = []
    while True:
        found = instance_holdings(engine, instance_id)
        if found.empty:
            return
        if time.monotonic() >= deadline:
            raise ConnectorError(
                f"teardown of instance {instance_id} incomplete after {engine.config.teardown_timeout:g}s: "
                f"{describe(found)} remain; last problems: {'; '.join(problems) or 'none reported'}"
            )
        problems = []
        for container in found.containers:
            problem = _ignore_gone(
                engine,
                f"remove container {container['Names'][0].lstrip('/')}",
                lambda c=container: api.remove_container(c["Id"], v=True, force=True),
            )
            if problem:
                problems.append(problem)
        if not found.containers:
            for volume in found.volumes:
                problem = _ignore_gone(
                    engine, f"remove volume {volume['Name']}", lambda v=volume: api.remove_volume(v["Name"])
                )
                if problem:
                    problems.append(problem)
            for network in found.networks:
                problem = _remove_network(engine, network)
                if problem:
                    problems.append(problem)
        if problems:
            logger.info("teardown of %s: %s; trying again", instance_id, "; ".join(problems))
            time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
