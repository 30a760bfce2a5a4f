"""Deploy N team instances through the Kubernetes connector with its default settings, next to
`kubectl apply --server-side` of the same rendered manifests, on the same API server in the same run.

For each N (default 10, 50, 100) and each side, three figures:

- deploy: the connector's `connectors.fanout.deploy_many` (server-side apply of every object, its default
  qps/burst/max_parallel), against one `kubectl apply --server-side -f` of every instance's manifests;
- available: from the start of the deploy until every Deployment of the N instances reports Available
  (the same observer for both sides: a cluster-wide list of Federange's Deployments every 0.2 s);
- teardown: the connector's bulk teardown (`teardown_many`: delete every namespace, then one watch),
  against `kubectl delete namespace <all N> --wait`.

Targets: a real cluster (`--kubeconfig PATH [--context NAME]`; instance namespaces are `bk-...` and
`bc-...`, removed at the end), or by default the Kubernetes API double (tests/support/kube_api) in its
own process with `--latency` seconds added to every request (default 0.02: a real v1.28 API server took
about 22 ms per object for `kubectl apply --server-side`, 78 s for 100 x 35 objects). kubectl is the
machine's (`--kubectl`, default `kubectl` on PATH). The scenario is a six-host, three-segment web range
(35 objects per instance). `run()` returns the figures as rows for bench/deploy.py.

    python bench/deploy_kubernetes.py [--kubeconfig PATH] [--sizes 10 50 100] [--latency 0.02]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from connectors.base import LABEL_MANAGED_BY, MANAGED_BY, InstanceSpec  # noqa: E402
from connectors.fanout import deploy_many, teardown_many  # noqa: E402
from connectors.kubernetes.config import KubernetesConfig  # noqa: E402
from connectors.kubernetes.connector import KubernetesConnector  # noqa: E402
from connectors.kubernetes.render import render_instance  # noqa: E402
from tests.unit.kubernetes.scenarios import instance, web_breach  # noqa: E402

LATENCY = 0.02
SIZES = (10, 50, 100)
AVAILABLE_TIMEOUT = 900.0


@dataclass(frozen=True)
class Target:
    kubeconfig: str  # text
    context: str = ""

    def connector_config(self, prefix: str) -> dict[str, Any]:
        config: dict[str, Any] = {"kubeconfig": self.kubeconfig, "namespace_prefix": prefix}
        if self.context:
            config["context"] = self.context
        return config


@contextmanager
def api_double(latency: float) -> Iterator[Target]:
    """The API double in a child process, without authentication (kubectl sends no bearer token over
    plain HTTP); yields a kubeconfig for it."""
    with tempfile.TemporaryDirectory() as folder:
        kubeconfig = Path(folder) / "kubeconfig"
        process = subprocess.Popen(
            # Schema validation off: in Python it costs the double ~10 ms of CPU per Deployment, which a
            # real API server does not spend; the fixed latency stands in for the server's work instead.
            [
                sys.executable,
                "-m",
                "tests.support.kube_api",
                "--latency",
                str(latency),
                "--no-validate",
                "--no-auth",
                "--kubeconfig",
                str(kubeconfig),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            assert process.stdout is not None
            if not process.stdout.readline().startswith("http"):
                raise RuntimeError("the Kubernetes API double did not start")
            yield Target(kubeconfig.read_text(encoding="utf-8"))
        finally:
            process.terminate()
            process.wait(timeout=30)


def instances(count: int, tag: str) -> list[InstanceSpec]:
    run = uuid.uuid4().hex[:4]
    scenario = web_breach()
    return [instance(scenario, instance_id=f"{run}-{n}", team=f"team-{n}") for n in range(count)]


class Kubectl:
    def __init__(self, binary: str, target: Target, folder: Path) -> None:
        self.binary = binary
        self.kubeconfig = folder / "kubeconfig"
        self.kubeconfig.write_text(target.kubeconfig, encoding="utf-8")
        self.context = target.context

    def __call__(self, *args: str, timeout: float = 1800) -> None:
        argv = [self.binary, "--kubeconfig", str(self.kubeconfig)]
        if self.context:
            argv += ["--context", self.context]
        done = subprocess.run([*argv, *args], capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args[:3])} failed: {done.stderr.strip()[-1500:]}")


def wait_available(observer: KubernetesConnector, namespaces: set[str], deployments: int) -> None:
    """Until every Deployment of `namespaces` (`deployments` of them) reports Available."""
    deadline = time.monotonic() + AVAILABLE_TIMEOUT
    while time.monotonic() < deadline:
        items, _ = observer.api.list("Deployment", label_selector=f"{LABEL_MANAGED_BY}={MANAGED_BY}")
        available = sum(
            1
            for d in items
            if d["metadata"].get("namespace") in namespaces
            and any(
                c.get("type") == "Available" and c.get("status") == "True"
                for c in (d.get("status") or {}).get("conditions") or []
            )
        )
        if available >= deployments:
            return
        time.sleep(0.2)
    raise RuntimeError(f"Deployments not all Available after {AVAILABLE_TIMEOUT:g}s")


def kubectl_run(
    kubectl: Kubectl, observer: KubernetesConnector, specs: list[InstanceSpec], folder: Path
) -> dict[str, float]:
    prefix = "bk"
    objects = [o for s in specs for o in render_instance(s, namespace_prefix=prefix)]
    # JSON, not YAML: kubectl's YAML 1.1 reader and PyYAML disagree on some plain scalars.
    manifest = folder / "manifests.json"
    manifest.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}), encoding="utf-8")
    namespaces = {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"}
    deployments = sum(1 for o in objects if o["kind"] == "Deployment")
    started = time.perf_counter()
    kubectl("apply", "--server-side", "--field-manager=federange-bench", "--force-conflicts",
            "--validate=false", "-f", str(manifest))  # fmt: skip
    deployed = time.perf_counter() - started
    wait_available(observer, namespaces, deployments)
    available = time.perf_counter() - started
    started = time.perf_counter()
    kubectl("delete", "namespace", "--wait=true", *sorted(namespaces))
    return {"deploy": deployed, "available": available, "teardown": time.perf_counter() - started}


def connector_run(
    target: Target, observer: KubernetesConnector, specs: list[InstanceSpec]
) -> dict[str, float]:
    with KubernetesConnector(target.connector_config("bc")) as connector:
        namespaces = {connector.namespace(s.instance_id) for s in specs}
        deployments = sum(len(s.scenario.spec.hosts) for s in specs)
        started = time.perf_counter()
        outcomes = deploy_many(connector, specs, workers=connector.settings.max_parallel)
        deployed = time.perf_counter() - started
        failed = [o for o in outcomes if not o.ok]
        if failed:
            raise RuntimeError(f"{len(failed)} deploys failed, first: {failed[0].error}")
        wait_available(observer, namespaces, deployments)
        available = time.perf_counter() - started
        started = time.perf_counter()
        gone = teardown_many(
            connector, [s.instance_id for s in specs], workers=connector.settings.max_parallel
        )
        torn_down = time.perf_counter() - started
        if not all(o.ok for o in gone):
            raise RuntimeError("teardown failed: " + "; ".join(o.error for o in gone if not o.ok))
    return {"deploy": deployed, "available": available, "teardown": torn_down}


def measure(
    target: Target,
    sizes: list[int],
    *,
    kubectl_binary: str,
    latency: float | None,
    each: Callable[[dict[str, Any]], None] = lambda row: None,
) -> list[dict[str, Any]]:
    """One row per size; `each` sees every row as soon as it is measured."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp, KubernetesConnector(target.connector_config("bc")) as observer:
        folder = Path(tmp)
        kubectl = Kubectl(kubectl_binary, target, folder)
        # Warm-up (not recorded): discovery caches, first connections, first-use costs of the double.
        kubectl_run(kubectl, observer, instances(1, "w"), folder)
        connector_run(target, observer, instances(1, "v"))
        for count in sizes:
            base = kubectl_run(kubectl, observer, instances(count, "k"), folder)
            ours = connector_run(target, observer, instances(count, "c"))
            row: dict[str, Any] = {
                "bench": "kubernetes-deploy",
                "instances": count,
                "objects": count * len(render_instance(instances(1, "x")[0])),
                "latency_ms": None if latency is None else latency * 1000,
            }
            for phase in ("deploy", "available", "teardown"):
                row[f"connector_{phase}_s"] = round(ours[phase], 2)
                row[f"kubectl_{phase}_s"] = round(base[phase], 2)
                row[f"{phase}_ratio"] = round(ours[phase] / base[phase], 2)
            rows.append(row)
            each(row)
    return rows


def run(
    ns: list[int] | None = None,
    *,
    latency: float = LATENCY,
    kubectl_binary: str = "kubectl",
    each: Callable[[dict[str, Any]], None] = lambda row: None,
) -> list[dict[str, Any]]:
    """The benchmark on the API double (bench/deploy.py's entry point)."""
    with api_double(latency) as target:
        return measure(target, list(ns or SIZES), kubectl_binary=kubectl_binary, latency=latency, each=each)


def print_row(r: dict[str, Any]) -> None:
    cells = [r["instances"], r["objects"]]
    for phase in ("deploy", "available", "teardown"):
        cells += [r[f"connector_{phase}_s"], r[f"kubectl_{phase}_s"], f"{r[f'{phase}_ratio']}"]
    print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", type=Path, help="a real cluster (default: the API double)")
    parser.add_argument("--context", default="", help="the kubeconfig context to use")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--latency", type=float, default=LATENCY, help="API double latency per request (s)")
    parser.add_argument("--kubectl", default=shutil.which("kubectl") or "kubectl", help="kubectl binary")
    args = parser.parse_args()
    defaults = KubernetesConfig.model_fields
    settings = ", ".join(f"{k}={defaults[k].default}" for k in ("qps", "burst", "max_parallel"))
    if args.kubeconfig is not None:
        where = f"cluster {args.kubeconfig}" + (f" (context {args.context})" if args.context else "")
    else:
        where = f"the API double, {args.latency * 1000:g} ms per request"
    print(f"Kubernetes deploy on {where}; connector defaults {settings}; ratio = connector / kubectl")
    print(
        "| N | objects | deploy: connector s | kubectl s | ratio | all Available: connector s | kubectl s "
        "| ratio | teardown: connector s | kubectl s | ratio |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |", flush=True)
    if args.kubeconfig is not None:
        target = Target(args.kubeconfig.read_text(encoding="utf-8"), args.context)
        measure(target, args.sizes, kubectl_binary=args.kubectl, latency=None, each=print_row)
    else:
        run(args.sizes, latency=args.latency, kubectl_binary=args.kubectl, each=print_row)


if __name__ == "__main__":
    main()
