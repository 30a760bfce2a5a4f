"""Test helpers around the real Docker engine: run a command in a container, read its addresses, and
find every object a set of instances left behind."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import docker

from connectors.base import LABEL_INSTANCE


@dataclass(frozen=True)
class Exec:
    code: int
    output: str


def run_in(api: docker.APIClient, container: str, command: Sequence[str], *, timeout: int = 10) -> Exec:
    """Run a command in a container, bounded by busybox `timeout` (an attached exec has no timeout)."""
    created = api.exec_create(container, ["timeout", str(timeout), *command], stdout=True, stderr=True)
    output = api.exec_start(created["Id"])
    code = api.exec_inspect(created["Id"])["ExitCode"]
    return Exec(code=int(code), output=output.decode("utf-8", "replace") if isinstance(output, bytes) else "")


def addresses(api: docker.APIClient, container: str) -> list[str]:
    networks = api.inspect_container(container)["NetworkSettings"]["Networks"] or {}
    return [n["IPAddress"] for n in networks.values() if n.get("IPAddress")]


def address_on(api: docker.APIClient, container: str, network: str) -> str:
    """The container's address on one network (it must have one)."""
    networks = api.inspect_container(container)["NetworkSettings"]["Networks"] or {}
    address = str((networks.get(network) or {}).get("IPAddress") or "")
    assert address, f"{container} has no address on {network}: {sorted(networks)}"
    return address


def remains(api: docker.APIClient, instance_ids: Iterable[str]) -> list[str]:
    """Every container, network and volume still labelled with one of the instances."""
    found: list[str] = []
    for instance_id in instance_ids:
        filters = {"label": [f"{LABEL_INSTANCE}={instance_id}"]}
        found += [f"container {c['Names'][0]}" for c in api.containers(all=True, filters=filters)]
        found += [f"network {n['Name']}" for n in api.networks(filters=filters)]
        found += [f"volume {v['Name']}" for v in api.volumes(filters=filters).get("Volumes") or []]
    return found
