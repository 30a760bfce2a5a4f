"""Deploy and tear down N team instances through the Kubernetes connector (against the Kubernetes API
double) and through the Docker connector (against the local engine), each next to its baseline measured
in the same run: the same objects created serially with the plain client.

    .venv/bin/python bench/deploy.py                 # N = 1, 10, 50 on both
    .venv/bin/python bench/deploy.py --sizes 1 10 --only docker

The two halves are bench/deploy_kubernetes.py and bench/deploy_docker.py (each runnable alone; their
docstrings say exactly what is measured). Ratios are baseline / connector for Kubernetes (above 1: the
connector is faster) and connector / baseline for Docker (below 1: the connector is faster), as each
half reports them; docs/benchmarks.md records the figures.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import deploy_docker, deploy_kubernetes


def table(title: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n## {title}\n")
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("| " + " | ".join("---:" for _ in columns) + " |")
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in columns) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--only", choices=["kubernetes", "docker"], default=None)
    args = parser.parse_args()
    if args.only in (None, "kubernetes"):
        table(
            "Kubernetes connector vs kubectl apply --server-side (API double, "
            f"{deploy_kubernetes.LATENCY * 1000:g} ms per request)",
            deploy_kubernetes.run(args.sizes),
        )
    if args.only in (None, "docker"):
        table("Docker connector vs serial plain Docker SDK (local engine)", deploy_docker.run(args.sizes))


if __name__ == "__main__":
    main()
