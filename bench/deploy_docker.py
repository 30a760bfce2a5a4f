"""Deploy and tear down N team instances through the Docker connector, next to a baseline measured in
the same run: the same containers and networks created serially with the plain Docker SDK.

    python -m bench.deploy_docker            # N = 1, 10, 50
    python -m bench.deploy_docker 1 5        # other sizes

The scenario is small (two busybox hosts on two segments, one entry host): what is measured is the
orchestration, not the workload. The connector side is `deploy_many` (a bounded thread pool, the range's
`workers`), each deploy converging networks, containers and files and reading the status back; the
baseline creates the same networks (with explicit subnets: Docker's default pools hold ~30 networks),
creates and starts the same containers with the same limits, one after the other, and removes them the
same way. Ratios below 1 mean the connector is faster than the plain serial client.
"""

from __future__ import annotations

import ipaddress
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import docker

from connectors.base import InstanceSpec
from connectors.docker.connector import DockerConnector
from connectors.fanout import deploy_many, teardown_many
from scenarios.loader import load_text
from scenarios.materialise import materialise
from scenarios.model import Scenario
from scenarios.serialise import dump_yaml
from tests.support.images import DOCKER_URL, ensure_busybox_image

WORKERS = 4
SIZES = (1, 10, 50)
BASELINE_POOL = ipaddress.IPv4Network("10.214.0.0/16")
BENCH_LABEL = "federange.bench/deploy"

SCENARIO = """
apiVersion: federange/v1
kind: Scenario
metadata: {name: bench-small, version: 1.0.0, title: Bench scenario}
spec:
  variables: [{name: flag, kind: flag}]
  segments: [{name: red}, {name: blue}]
  hosts:
    - name: attacker
      image: busybox:1.36
      command: [sleep, "3600"]
      entry: true
      ports: [{port: 2222}]
      segments: [red]
      resources: {requests: {cpu_millicores: 50, memory_mib: 16}}
    - name: target
      image: busybox:1.36
      command: [sleep, "3600"]
      env: {FLAG: "{{ vars.flag }}"}
      files: [{path: /srv/flag.txt, content: "{{ vars.flag }}"}]
      segments: [red, blue]
      resources: {requests: {cpu_millicores: 50, memory_mib: 16}}
"""


def _instances(scenario: Scenario, n: int) -> list[InstanceSpec]:
    token = uuid.uuid4().hex[:5]
    return [
        InstanceSpec(
            instance_id=f"bn{token}-{i}",
            exercise="bench",
            team=f"team-{i}",
            scenario_document=dump_yaml(scenario),
            values=materialise(scenario, seed=b"bench", instance_id=f"bn{token}-{i}"),
        )
        for i in range(n)
    ]


def _subnets() -> Iterator[ipaddress.IPv4Network]:
    yield from BASELINE_POOL.subnets(new_prefix=26)


def _baseline_deploy(
    api: docker.APIClient, image: str, instances: list[InstanceSpec], subnets: Iterator[Any]
) -> None:
    """The same objects as the connector creates, serially, with the plain client."""
    for instance in instances:
        prefix = f"bl-{instance.instance_id}"
        labels = {BENCH_LABEL: "baseline"}
        for name, internal in ((f"{prefix}.red", True), (f"{prefix}.blue", True), (f"{prefix}.edge", False)):
            subnet = next(subnets)
            ipam = docker.types.IPAMConfig(
                pool_configs=[docker.types.IPAMPool(subnet=str(subnet), gateway=str(next(subnet.hosts())))]
            )
            api.create_network(name, driver="bridge", internal=internal, ipam=ipam, labels=labels)
        for host, networks in (("attacker", ["red", "edge"]), ("target", ["red", "blue"])):
            name = f"{prefix}.{host}"
            first, *rest = networks
            host_config = api.create_host_config(
                init=True,
                nano_cpus=50_000_000,
                mem_limit=16 * 1024 * 1024,
                network_mode=f"{prefix}.{first}",
                port_bindings={"2222/tcp": ("0.0.0.0", None)} if host == "attacker" else None,
            )
            api.create_container(
                image,
                name=name,
                entrypoint=["sleep", "3600"],
                labels=labels,
                environment={"FLAG": instance.values["flag"]},
                ports=[(2222, "tcp")] if host == "attacker" else None,
                host_config=host_config,
                networking_config=api.create_networking_config(
                    {f"{prefix}.{first}": api.create_endpoint_config(aliases=[host])}
                ),
            )
            for network in rest:
                api.connect_container_to_network(name, f"{prefix}.{network}", aliases=[host])
            api.start(name)


def _baseline_teardown(api: docker.APIClient) -> None:
    filters = {"label": [f"{BENCH_LABEL}=baseline"]}
    for container in api.containers(all=True, filters=filters):
        api.remove_container(container["Id"], force=True, v=True)
    for network in api.networks(filters=filters):
        api.remove_network(network["Id"])


def measure(n: int, *, api: docker.APIClient, image: str, workers: int = WORKERS) -> dict[str, Any]:
    scenario = load_text(SCENARIO)
    instances = _instances(scenario, n)
    config = {
        "base_url": DOCKER_URL,
        "image_map": {"busybox:1.36": image},
        "pull": "never",
        "workers": workers,
    }
    with DockerConnector(config) as connector:
        started = time.perf_counter()
        outcomes = deploy_many(connector, instances, workers=workers)
        connector_deploy = time.perf_counter() - started
        failed = [o.error for o in outcomes if o.error]
        started = time.perf_counter()
        teardown_many(connector, [i.instance_id for i in instances], workers=workers)
        connector_teardown = time.perf_counter() - started
    if failed:
        raise RuntimeError(f"{len(failed)} deploys failed, first: {failed[0]}")
    started = time.perf_counter()
    try:
        _baseline_deploy(api, image, instances, _subnets())
        baseline_deploy = time.perf_counter() - started
    finally:
        started = time.perf_counter()
        _baseline_teardown(api)
        baseline_teardown = time.perf_counter() - started
    return {
        "n": n,
        "workers": workers,
        "connector_deploy_s": round(connector_deploy, 2),
        "baseline_deploy_s": round(baseline_deploy, 2),
        "deploy_ratio": round(connector_deploy / baseline_deploy, 2),
        "connector_teardown_s": round(connector_teardown, 2),
        "baseline_teardown_s": round(baseline_teardown, 2),
        "teardown_ratio": round(connector_teardown / baseline_teardown, 2),
    }


def run(ns: list[int]) -> list[dict[str, Any]]:
    """One row per N: connector and baseline deploy/teardown seconds and their ratios."""
    api = docker.APIClient(base_url=DOCKER_URL, version="1.41", timeout=120)
    try:
        image = ensure_busybox_image(api)
        return [measure(n, api=api, image=image) for n in ns]
    finally:
        api.close()


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or list(SIZES)
    rows = run(sizes)
    columns = list(rows[0])
    print(" | ".join(columns))
    print(" | ".join("---" for _ in columns))
    for row in rows:
        print(" | ".join(str(row[c]) for c in columns))


if __name__ == "__main__":
    main(sys.argv[1:])
