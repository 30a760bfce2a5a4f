"""Federation benchmark: admission of a hub exercise spanning 1, 2 and 4 peers, against the same request
on the hub's own ranges, in one run; and the round trips each peer sees per request.

    .venv/bin/python bench/federation.py [--requests 20] [--clients 4]

Starts five real `federange server` processes on 127.0.0.1 (a hub and four national instances, each
with its own SQLite database; the ranges on the fake connector), publishes one range of each national
instance to the hub, and gives the hub four local ranges of the same size. The project's fault proxy
(no faults) sits in front of every national instance and counts the requests it relays.

For each span (1, 2, 4 ranges) it schedules exercises of one team per range, each in its own future
window (nothing deploys during the run), first on local ranges (the baseline), then on peers' ranges:
- latency: POST /api/v1/exercises as the trainer sees it, one client, --requests requests; median, p95;
- throughput: --clients clients at once, --requests requests each; exercises per second;
- round trips per peer per request, counted at the proxies (target: at most 2, hold then confirm).
Ratios are peers over local, measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from tests.support.faultproxy import FaultProxy, fault_proxy
from tests.support.federation import FederangeProcess, fake_range

COUNTRIES = ["LV", "EE", "LT", "FI"]
QUIET = {  # no background traffic to the peers while measuring: only the requests themselves
    "FEDERANGE_PROBE_INTERVAL_SECONDS": "3600",
    "FEDERANGE_FEDERATION_SYNC_INTERVAL_SECONDS": "3600",
}
SCENARIO = """
apiVersion: federange/v1
kind: Scenario
metadata: {name: bench, version: 1.0.0, title: Federation bench}
spec:
  segments: [{name: lan}]
  hosts:
    - name: box
      image: registry.invalid/box:1
      command: [sleep, "3600"]
      entry: true
      ports: [{port: 22}]
      segments: [lan]
      resources: {requests: {cpu_millicores: 10, memory_mib: 16}}
"""


class Bench:
    def __init__(self, stack: ExitStack, tmp: Path) -> None:
        self.proxies: list[FaultProxy] = []
        self.peer_ranges: list[str] = []
        self.local_ranges: list[str] = []
        self.hub = FederangeProcess(
            name="bench-hub",
            country="BE",
            database_url=f"sqlite:///{tmp / 'hub.db'}",
            data_dir=tmp / "hub",
            extra_env=QUIET,
        )
        nationals = []
        for country in COUNTRIES:
            name = f"{country.lower()}-hub"
            national = FederangeProcess(
                name=name,
                country=country,
                database_url=f"sqlite:///{tmp / name}.db",
                data_dir=tmp / name,
                extra_env=QUIET,
            )
            national.setup()
            national.start()
            stack.callback(national.stop)
            ops = national.token(
                national.org(f"{country} operator", country, "range_operator"), "operator", "ops"
            )
            slug = f"{country.lower()}-range"
            national.made(
                "POST", "/api/v1/ranges", ops, json=fake_range(slug, country, slots=5000, secret="s")
            )
            peer_org = national.org("EU hub", "BE", "federation_peer")
            national.made("PUT", f"/api/v1/ranges/{slug}/publications/{peer_org}", ops)
            token = national.token(peer_org, "peer", "hub")
            proxy = stack.enter_context(fault_proxy(f"127.0.0.1:{national.port}"))
            self.proxies.append(proxy)
            nationals.append((name, proxy, token, slug))
        self.hub.setup()
        self.hub.start()
        stack.callback(self.hub.stop)
        ops = self.hub.token(self.hub.org("BE operator", "BE", "range_operator"), "operator", "ops")
        for n in range(len(COUNTRIES)):
            slug = f"be-local-{n}"
            self.hub.made("POST", "/api/v1/ranges", ops, json=fake_range(slug, "BE", slots=5000, secret="s"))
            self.local_ranges.append(slug)
        school = self.hub.org("EU school", "BE", "training_provider")
        self.trainer = self.hub.token(school, "trainer", "trainer")
        upload = httpx.post(
            f"{self.hub.url}/api/v1/scenarios",
            content=SCENARIO,
            timeout=30,
            headers={"Content-Type": "application/yaml", "Authorization": f"Bearer {self.trainer}"},
        )
        assert upload.status_code == 201, upload.text
        for name, proxy, token, slug in nationals:
            self.hub.made(
                "POST",
                "/api/v1/peers",
                json={"name": name, "base_url": f"http://127.0.0.1:{proxy.port}", "token": token},
            )
            self.peer_ranges.append(slug)
        self.window = 0
        self.client = httpx.Client(
            base_url=self.hub.url, headers={"Authorization": f"Bearer {self.trainer}"}, timeout=120
        )

    def body(self, ranges: list[str]) -> dict[str, Any]:
        self.window += 1
        start = datetime.now(UTC) + timedelta(days=2, hours=self.window)
        return {
            "name": f"bench {self.window}",
            "scenario": "bench",
            "teams": [{"name": f"t{i}", "organisation": "CERT", "country": "BE"} for i in range(len(ranges))],
            "start": start.isoformat(),
            "end": (start + timedelta(minutes=30)).isoformat(),
            "lead_minutes": 0,
            "constraints": {
                "include_ranges": ranges,
                "min_ranges": len(ranges),
                "max_teams_per_range": 1,
                "country_affinity": False,
            },
        }

    def schedule(self, ranges: list[str], client: httpx.Client | None = None) -> float:
        body = self.body(ranges)
        began = time.perf_counter()
        answer = (client or self.client).post("/api/v1/exercises", json=body)
        took = time.perf_counter() - began
        assert answer.status_code == 201, answer.text
        return took

    def seen(self) -> int:
        return sum(len(p.seen) for p in self.proxies)


def measure(bench: Bench, ranges: list[str], *, requests: int, clients: int) -> dict[str, float]:
    bench.schedule(ranges)  # warm up (connections, caches)
    before = bench.seen()
    latencies = [bench.schedule(ranges) for _ in range(requests)]
    trips = (bench.seen() - before) / requests
    if "--paths" in sys.argv:
        for p in bench.proxies:
            print(sorted({(m, path.split("?")[0][:40]) for m, path, _ in p.seen[-requests * 3 :]}))
    pool_clients = [
        httpx.Client(
            base_url=bench.hub.url, headers={"Authorization": f"Bearer {bench.trainer}"}, timeout=120
        )
        for _ in range(clients)
    ]
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(lambda c: [bench.schedule(ranges, c) for _ in range(requests)], pool_clients))
    elapsed = time.perf_counter() - began
    for c in pool_clients:
        c.close()
    latencies.sort()
    return {
        "median_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[max(int(len(latencies) * 0.95) - 1, 0)] * 1000,
        "per_second": clients * requests / elapsed,
        "trips_per_peer": trips / len(ranges) if ranges[0] in bench.peer_ranges else trips,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--paths", action="store_true", help="print the requests each peer saw")
    args = parser.parse_args()
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="federange-bench-") as tmp:
        bench = Bench(stack, Path(tmp))
        print(
            f"{'span':>4}  {'where':<6} {'median ms':>10} {'p95 ms':>8} {'req/s':>7} {'trips/peer':>10} "
            f"{'latency x':>9} {'req/s x':>8}"
        )
        for span in (1, 2, 4):
            local = measure(bench, bench.local_ranges[:span], requests=args.requests, clients=args.clients)
            peers = measure(bench, bench.peer_ranges[:span], requests=args.requests, clients=args.clients)
            for where, m in (("local", local), ("peers", peers)):
                ratio_l = m["median_ms"] / local["median_ms"]
                ratio_t = m["per_second"] / local["per_second"]
                trips = f"{m['trips_per_peer']:.2f}" if where == "peers" else "-"
                print(
                    f"{span:>4}  {where:<6} {m['median_ms']:>10.1f} {m['p95_ms']:>8.1f} "
                    f"{m['per_second']:>7.1f} {trips:>10} {ratio_l:>9.2f} {ratio_t:>8.2f}"
                )
        bench.client.close()


if __name__ == "__main__":
    main()
