"""Finding 8 (the part of it that is the CLI's): `federange server` says how to get the first admin token
while no admin exists, and with --json it logs one JSON object per line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.integration.cli.helpers import federange
from tests.support.live import free_port


def serve_once(data_dir: Path, *args: str) -> str:
    """Start `federange server`, wait until it answers, stop it; its log."""
    port = free_port("127.0.0.1")
    env = {
        **os.environ,
        "FEDERANGE_DATA_DIR": str(data_dir),
        "FEDERANGE_DATABASE_URL": "",
        "FEDERANGE_PORT": str(port),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli", "server", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.3)
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    return out


def test_the_server_says_how_to_get_the_first_admin_token(tmp_path: Path) -> None:
    first = serve_once(tmp_path, "--json")
    lines = [json.loads(line) for line in first.splitlines() if line.strip()]  # every line is JSON
    hints = [line for line in lines if "federange admin bootstrap" in line["message"]]
    assert len(hints) == 1 and hints[0]["level"] == "WARNING"
    assert "FEDERANGE_TOKEN" in hints[0]["message"]

    bootstrap = federange(
        "admin",
        "bootstrap",
        "--country",
        "BE",
        env={"FEDERANGE_DATA_DIR": str(tmp_path), "FEDERANGE_DATABASE_URL": ""},
    )
    assert bootstrap.returncode == 0, bootstrap.stderr
    assert "federange admin bootstrap" not in serve_once(tmp_path)  # an admin exists: nothing to say
