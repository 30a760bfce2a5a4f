"""Real Federange server processes for federation tests: each with its own database (a SQLite file or a
fresh PostgreSQL database), its own secret key, bootstrapped admin and port on 127.0.0.1; started,
killed (SIGKILL: a crash) and restarted on the same database. Every wait is bounded."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.live import free_port

#: Scheduler and federation ticks fast enough for tests (each still bounded by the test's waits).
FAST = {
    "FEDERANGE_SCHEDULER_TICK_SECONDS": "0.2",
    "FEDERANGE_PROBE_INTERVAL_SECONDS": "1",
    "FEDERANGE_RECONCILE_INTERVAL_SECONDS": "3600",
    "FEDERANGE_HEAL_INTERVAL_SECONDS": "3600",
    "FEDERANGE_FEDERATION_SYNC_INTERVAL_SECONDS": "1",
    "FEDERANGE_SHUTDOWN_GRACE_SECONDS": "1",
    "FEDERANGE_FEDERATION_TIMEOUT_SECONDS": "5",
    "FEDERANGE_DEFAULT_QUOTA_SLOTS": "0",
    "FEDERANGE_DEFAULT_QUOTA_CPU_MILLICORES": "0",
    "FEDERANGE_DEFAULT_QUOTA_MEMORY_MIB": "0",
    "FEDERANGE_DEFAULT_QUOTA_GPUS": "0",
}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class FederangeProcess:
    """One Federange instance (`federange server`: API and scheduler in one process)."""

    name: str
    country: str
    database_url: str
    data_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    secret_key: str = field(default_factory=lambda: uuid.uuid4().hex + uuid.uuid4().hex)
    proc: subprocess.Popen[bytes] | None = None
    admin: str = ""
    starts: int = 0
    #: Served over TLS (extra_env sets FEDERANGE_TLS_*): how this test's own calls verify it (and the
    #: client certificate they present when it requires one).
    tls: ssl.SSLContext | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"{self.name}.log"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            **FAST,
            "FEDERANGE_DATABASE_URL": self.database_url,
            "FEDERANGE_SECRET_KEY": self.secret_key,
            "FEDERANGE_DATA_DIR": str(self.data_dir),
            "FEDERANGE_INSTANCE_NAME": self.name,
            "FEDERANGE_INSTANCE_COUNTRY": self.country,
            **self.extra_env,
        }

    def _cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "orchestrator.cli", *args],
            env=self.env(),
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode() + done.stdout.decode()
        return done.stdout.decode()

    def setup(self) -> None:
        """Migrate the database and bootstrap the first admin token."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._cli("db", "upgrade")
        out = self._cli(
            "admin", "bootstrap", "--country", self.country, "--organisation", f"{self.name} admin"
        )
        self.admin = out.strip().splitlines()[-1].strip()

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "orchestrator.cli",
                    "server",
                    "--no-migrate",
                    "--port",
                    str(self.port),
                ],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log_path.read_text()[-4000:]
            try:
                if httpx.get(f"{self.url}/health", timeout=2, verify=self.tls or True).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.name} did not start within 60 s:\n{self.log_path.read_text()[-4000:]}")

    def kill(self) -> None:
        """SIGKILL: the process dies as in a crash (nothing flushed, no graceful shutdown)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)

    def client(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers=auth(token or self.admin), timeout=30, verify=self.tls or True
        )

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        with self.client(token) as http:
            return http.request(method, path, **kwargs)

    def made(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        response = self.call(method, path, token, **kwargs)
        assert response.status_code in (200, 201, 204), (
            f"{method} {path}: {response.status_code} {response.text}"
        )
        return response.json() if response.content else None

    # -- onboarding helpers ----------------------------------------------------------------------
    def org(self, name: str, country: str, kind: str) -> str:
        return str(
            self.made("POST", "/api/v1/organisations", json={"name": name, "country": country, "kind": kind})[
                "id"
            ]
        )

    def token(self, org_id: str, role: str, name: str) -> str:
        body = {"name": name, "organisation_id": org_id, "role": role}
        return str(self.made("POST", "/api/v1/tokens", json=body)["token"])


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (a graceful shutdown), SIGKILL if it takes longer than 30 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def fake_range(
    slug: str, country: str, *, slots: int, secret: str, world: str = "", **policy: Any
) -> dict[str, Any]:
    """A range on the fake connector whose simulated credential (`token`, sealed) is `secret`."""
    return {
        "slug": slug,
        "name": f"{slug} range",
        "country": country,
        "capabilities": ["containers"],
        "capacity": {"cpu_millicores": 64_000, "memory_mib": 131_072, "slots": slots, "gpus": 0},
        "policy": {"max_foreign_share": 1.0, "max_booking_minutes": None, **policy},
        "connector": {"kind": "fake", "config": {"world": world or slug, "token": secret}},
    }


def wait_for(check: Any, *, timeout: float = 60.0, pause: float = 0.2, what: str = "condition") -> Any:
    """Poll `check()` until it returns something truthy (bounded); returns it."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(pause)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what} (last: {last!r})")
