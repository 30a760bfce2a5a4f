"""Run the API double on its own: `python -m tests.support.kube_api --port 8001`.

Prints one line, the server's URL, once it listens (and a kubeconfig with --kubeconfig PATH), then serves
until interrupted. Used by the deploy benchmark (server and client in separate processes, as against a
real cluster) and for trying the e2e suite's plumbing by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from pathlib import Path

from tests.support.kube_api.kubelet import NodeSpec
from tests.support.kube_api.server import TOKEN, KubeApiServer


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.support.kube_api")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    parser.add_argument("--no-validate", action="store_true", help="skip schema validation of writes")
    parser.add_argument("--kubeconfig", type=Path, help="write a kubeconfig for the server here")
    parser.add_argument(
        "--nodes", type=int, default=2, help="simulated nodes (each 64 cpu, 256 GiB, 1000 pods)"
    )
    parser.add_argument(
        "--no-auth", action="store_true", help="no bearer token (kubectl sends none over plain HTTP)"
    )
    args = parser.parse_args()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    token = "" if args.no_auth else TOKEN
    nodes = [
        NodeSpec(f"node-{n}", f"192.0.2.{n}", cpu="64", memory="256Gi", pods=1000)
        for n in range(1, args.nodes + 1)
    ]
    with KubeApiServer(
        port=args.port, latency=args.latency, validate=not args.no_validate, token=token, nodes=nodes
    ) as server:
        if args.kubeconfig is not None:
            args.kubeconfig.write_text(server.kubeconfig(), encoding="utf-8")
        sys.stdout.write(server.url + "\n")
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()


if __name__ == "__main__":
    main()
