"""`federange api --workers 2`: the workers import the app factory, serve on one socket, and /metrics
answered by either worker counts every worker's requests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.live import free_port
from tests.support.metrics import scrape, total


def test_two_workers_serve_and_their_metrics_are_summed(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "FEDERANGE_DATA_DIR": str(tmp_path),
        "FEDERANGE_DATABASE_URL": "",
        "FEDERANGE_PORT": str(port),
        "PROMETHEUS_MULTIPROC_DIR": "",
    }
    cli = [sys.executable, "-m", "orchestrator.cli"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=120)
    log = tmp_path / "api.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([*cli, "api", "--workers", "2"], env=env, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, log.read_text()
            time.sleep(0.2)
        for _ in range(40):  # new connections: the kernel spreads them over both workers' accept()
            with httpx.Client(base_url=base, timeout=10) as http:
                assert http.get("/health").status_code == 200
        for _ in range(6):
            with httpx.Client(base_url=base, timeout=10) as http:
                samples = scrape(http)
            assert total(samples, "federange_http_requests_total", route="/health", status="200") == 40
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode == 0, log.read_text()
    assert "with 2 workers" in log.read_text()
