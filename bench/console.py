"""Does the web console cost the API anything? API requests per second with the console mounted, over the
same app without it, in one run.

    .venv/bin/python bench/console.py [--rounds 7] [--requests 400]

One SQLite database with 20 ranges; two real servers (uvicorn, in threads of this process) over the same
services: the baseline app built with `create_app(services, with_console=False)`, the other as
`federange server` builds it. Each round sends --requests sequential keep-alive requests of each kind to
both servers, in alternating order; figures are medians over the rounds, each ratio the median of the
rounds' ratios (console / baseline; 1.00 = no cost).
  - GET /health (no token, no database): the routing and middleware alone
  - GET /api/v1/ranges (an admin token, 20 ranges): a typical authenticated read
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from orchestrator.api.embedded import serve_in_background
from orchestrator.db import migrate
from orchestrator.db.engine import make_engine
from orchestrator.settings import Settings
from orchestrator.wiring import build

CALLS = {"GET /health": "/health", "GET /api/v1/ranges": "/api/v1/ranges?page_size=50"}


def rate(client: httpx.Client, path: str, n: int, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    for _ in range(n):
        client.get(path, headers=headers).raise_for_status()
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp), secret_key="bench-secret-key-0123456789abcdef", token_lifetime_days=0
        )
        engine = make_engine(settings.resolved_database_url())
        migrate.upgrade(engine)
        engine.dispose()
        services = build(settings)
        with services.uow() as uow:
            admin = services.catalogue(uow.catalogue).bootstrap_admin(
                organisation_name="Agency", country="BE"
            )
        headers = {"Authorization": f"Bearer {admin.plaintext}"}
        with (
            serve_in_background(services, with_console=False) as baseline,
            serve_in_background(services) as console,
            httpx.Client(base_url=baseline, timeout=30) as plain,
            httpx.Client(base_url=console, timeout=30) as full,
        ):
            org = plain.post(
                "/api/v1/organisations",
                headers=headers,
                json={"name": "Ops", "country": "FR", "kind": "range_operator"},
            ).json()["id"]
            for i in range(20):
                plain.post(
                    "/api/v1/ranges",
                    headers=headers,
                    json={
                        "slug": f"r{i}",
                        "name": f"Range {i}",
                        "country": "FR",
                        "operator_organisation_id": org,
                        "capacity": {"cpu_millicores": 1000, "memory_mib": 1024, "slots": 2},
                        "connector": {"kind": "fake", "config": {"world": f"bench-{i}"}},
                    },
                ).raise_for_status()
            results: dict[str, dict[str, list[float]]] = {
                c: {"baseline": [], "console": [], "ratio": []} for c in CALLS
            }
            for path in CALLS.values():  # warm-up, not recorded
                rate(plain, path, 50, headers)
                rate(full, path, 50, headers)
            for r in range(args.rounds):
                for call, path in CALLS.items():
                    order = [("baseline", plain), ("console", full)]
                    got = {
                        name: rate(client, path, args.requests, headers)
                        for name, client in (order if r % 2 == 0 else order[::-1])
                    }
                    results[call]["baseline"].append(got["baseline"])
                    results[call]["console"].append(got["console"])
                    results[call]["ratio"].append(got["console"] / got["baseline"])
        services.close()
    print(f"rounds={args.rounds} requests per round and server={args.requests}")
    print("| call | API alone req/s | with the console req/s | ratio |")
    print("| --- | --- | --- | --- |")
    for call, series in results.items():
        alone, full = statistics.median(series["baseline"]), statistics.median(series["console"])
        print(f"| `{call}` | {alone:.0f} | {full:.0f} | {statistics.median(series['ratio']):.2f}x |")


if __name__ == "__main__":
    main()
