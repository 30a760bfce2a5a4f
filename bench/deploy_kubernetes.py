"""Deploy and tear down N team instances through the Kubernetes connector, next to a baseline.

Both run in the same process against the same Kubernetes API double, started in its own process (as a
real API server would be) with a fixed per-request latency standing in for a real server's round trip:

- connector: `connectors.fanout.deploy_many` over the KubernetesConnector (server-side apply of every
  rendered object, bounded parallel fan-out, client-side rate limit) then `teardown_many` (delete each
  namespace, wait until gone);
- baseline: the same manifests created one by one with the plain client (`kubernetes.utils.
  create_from_dict`), then each namespace deleted and waited for, one instance after the other.

The scenario is a six-host, three-segment web range (35 objects per instance). Printed figures are wall
times and the baseline/connector ratios; `run()` returns them as rows for bench/deploy.py.

    python bench/deploy_kubernetes.py [--sizes 1 10 50] [--latency 0.005] [--max-parallel 10]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kubernetes import client, utils  # noqa: E402

from connectors.base import InstanceSpec  # noqa: E402
from connectors.fanout import deploy_many, teardown_many  # noqa: E402
from connectors.kubernetes.connector import KubernetesConnector  # noqa: E402
from connectors.kubernetes.render import render_instance  # noqa: E402
from tests.support.kube_api import TOKEN  # noqa: E402
from tests.unit.kubernetes.scenarios import instance, web_breach  # noqa: E402

LATENCY = 0.005
MAX_PARALLEL = 10
QPS, BURST = 200.0, 400


@contextmanager
def api_double(latency: float) -> Iterator[str]:
    """The API double in a child process; yields its URL."""
    process = subprocess.Popen(
        # Schema validation off: in Python it costs the double ~10 ms of CPU per Deployment, which a real
        # API server does not spend; the fixed latency stands in for the server's work instead.
        [sys.executable, "-m", "tests.support.kube_api", "--latency", str(latency), "--no-validate"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError("the Kubernetes API double did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def instances(count: int, tag: str) -> list[InstanceSpec]:
    run = uuid.uuid4().hex[:4]
    scenario = web_breach()
    return [instance(scenario, instance_id=f"{tag}{run}-{n}", team=f"team-{n}") for n in range(count)]


def plain_client(url: str) -> client.ApiClient:
    cfg = client.Configuration()
    cfg.host = url
    cfg.api_key = {"BearerToken": f"Bearer {TOKEN}"}
    return client.ApiClient(cfg)


def baseline(url: str, specs: list[InstanceSpec]) -> tuple[float, float, int]:
    """Serial create, then serial delete-and-wait, with the plain client."""
    api = plain_client(url)
    core = client.CoreV1Api(api)
    objects = 0
    started = time.perf_counter()
    for spec in specs:
        for obj in render_instance(spec):
            utils.create_from_dict(api, obj)
            objects += 1
    deployed = time.perf_counter() - started
    started = time.perf_counter()
    for spec in specs:
        name = f"fr-{spec.instance_id}"
        core.delete_namespace(name)
        while core.list_namespace(field_selector=f"metadata.name={name}").items:
            time.sleep(0.02)
    torn_down = time.perf_counter() - started
    api.close()
    return deployed, torn_down, objects


def connector_run(url: str, specs: list[InstanceSpec], *, max_parallel: int) -> tuple[float, float]:
    config = {"server": url, "token": TOKEN, "qps": QPS, "burst": BURST, "max_parallel": max_parallel}
    with KubernetesConnector(config) as connector:
        started = time.perf_counter()
        outcomes = deploy_many(connector, specs, workers=connector.settings.max_parallel)
        deployed = time.perf_counter() - started
        failed = [o for o in outcomes if not o.ok]
        if failed:
            raise RuntimeError(f"{len(failed)} deploys failed, first: {failed[0].error}")
        started = time.perf_counter()
        gone = teardown_many(
            connector, [s.instance_id for s in specs], workers=connector.settings.max_parallel
        )
        torn_down = time.perf_counter() - started
        if not all(o.ok for o in gone):
            raise RuntimeError("teardown failed: " + "; ".join(o.error for o in gone if not o.ok))
    return deployed, torn_down


def run(ns: list[int], *, latency: float = LATENCY, max_parallel: int = MAX_PARALLEL) -> list[dict[str, Any]]:
    rows = []
    with api_double(latency) as url:
        # Warm-up (not recorded): first-use costs of both clients and of the double stay out of the figures.
        baseline(url, instances(1, "w"))
        connector_run(url, instances(1, "v"), max_parallel=max_parallel)
        for count in ns:
            base_deploy, base_teardown, objects = baseline(url, instances(count, "b"))
            deploy, teardown = connector_run(url, instances(count, "c"), max_parallel=max_parallel)
            rows.append(
                {
                    "bench": "kubernetes-deploy",
                    "instances": count,
                    "objects": objects,
                    "latency_ms": latency * 1000,
                    "max_parallel": max_parallel,
                    "connector_deploy_s": round(deploy, 3),
                    "connector_teardown_s": round(teardown, 3),
                    "baseline_deploy_s": round(base_deploy, 3),
                    "baseline_teardown_s": round(base_teardown, 3),
                    "deploy_speedup": round(base_deploy / deploy, 2),
                    "teardown_speedup": round(base_teardown / teardown, 2),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--latency", type=float, default=LATENCY, help="API double latency per request (s)")
    parser.add_argument("--max-parallel", type=int, default=MAX_PARALLEL)
    args = parser.parse_args()
    rows = run(args.sizes, latency=args.latency, max_parallel=args.max_parallel)
    print(
        f"Kubernetes deploy: API double latency {args.latency * 1000:g} ms/request, "
        f"connector max_parallel={args.max_parallel}, qps={QPS:g}, burst={BURST}"
    )
    print(
        "| N | objects | connector deploy s | baseline deploy s | ratio "
        "| connector teardown s | baseline teardown s | ratio |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['instances']} | {r['objects']} | {r['connector_deploy_s']} | {r['baseline_deploy_s']} | "
            f"{r['deploy_speedup']}x | {r['connector_teardown_s']} | {r['baseline_teardown_s']} | "
            f"{r['teardown_speedup']}x |"
        )


if __name__ == "__main__":
    main()
