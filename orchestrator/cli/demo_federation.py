"""`federange demo --federation`: the demo's story with the ranges on two national instances and the
trainer on a hub, all on this machine.

Three Federange instances, each with its own SQLite database, secret key and scheduler, each serving its
API on its own port: Estonia's and Latvia's register a range (simulated: the in-memory fake connector,
with a simulated credential each) and publish it to the hub; the hub adds both as peers, imports their
ranges, and a trainer on the hub schedules an exercise across them. The hub books both peers all or
nothing (hold, commit, confirm), deploys through their federation APIs, hands out access and tears down;
the nationals' credentials never reach the hub. Every step goes over HTTP.
"""

from __future__ import annotations

import secrets
import shutil
import time
import uuid
from contextlib import ExitStack

import typer

from orchestrator.cli import output, progress
from orchestrator.cli.client import ApiClient
from orchestrator.cli.demo import (
    exercise_request,
    follow,
    heading,
    is_over,
    organisation,
    running_server,
    token,
)
from orchestrator.settings import Settings

#: A scenario without provisioning playbooks (a peer's range is provisioned by its home instance only).
SCENARIO = """
apiVersion: federange/v1
kind: Scenario
metadata: {name: federation-drill, version: 1.0.0, title: Federation drill}
spec:
  variables:
    - {name: flag, kind: flag}
    - {name: trainee_password, kind: password, length: 12, access: true}
  segments: [{name: lan}]
  hosts:
    - name: jump
      image: registry.invalid/jump:1
      command: [sleep, "3600"]
      entry: true
      ports: [{port: 22}]
      segments: [lan]
      env: {PASSWORD: "{{ vars.trainee_password }}"}
      resources: {requests: {cpu_millicores: 100, memory_mib: 64}}
    - name: target
      image: registry.invalid/target:1
      command: [sleep, "3600"]
      env: {FLAG: "{{ vars.flag }}"}
      segments: [lan]
      resources: {requests: {cpu_millicores: 100, memory_mib: 64}}
"""
NATIONALS = [
    ("ee-hub", "EE", "ee-range", "Estonian national cyber range"),
    ("lv-hub", "LV", "lv-range", "Latvian national cyber range"),
]
TEAMS = [("red", "EE"), ("blue", "LV"), ("green", "EE"), ("white", "LV")]


def _settings(base: Settings, name: str, country: str, tick: float) -> Settings:
    workdir = base.data_dir / "demo-federation" / name
    workdir.mkdir(parents=True)
    return base.model_copy(
        update={
            "data_dir": workdir,
            "database_url": f"sqlite:///{workdir / 'federange.db'}",
            "secret_key": "",
            "scheduler_tick_seconds": tick,
            "probe_interval_seconds": 2.0,
            "reconcile_interval_seconds": 3600.0,
            "federation_sync_interval_seconds": 2.0,
            "instance_name": name,
            "instance_country": country,
            "instance_seed": secrets.token_hex(16),
            "default_quota_slots": 0,
            "default_quota_cpu_millicores": 0,
            "default_quota_memory_mib": 0,
            "default_quota_gpus": 0,
        }
    )


def run(teams: int, minutes: float, start_in: float) -> None:
    """The federated story (see the module docstring); exits 1 when anything is left behind or failed."""
    started = time.monotonic()
    base = Settings()
    shutil.rmtree(base.data_dir / "demo-federation", ignore_errors=True)
    with ExitStack() as stack:
        heading("1. Two national instances publish a range each to the hub")
        rows = []
        secrets_at_home = []
        peers = []
        for name, country, slug, title in NATIONALS:
            url, admin = stack.enter_context(running_server(_settings(base, name, country, 0.5)))
            root = ApiClient(url, admin)
            operator = ApiClient(
                url, token(root, organisation(root, title, country, "range_operator"), "operator", "ops")
            )
            credential = f"{name}-credential-{uuid.uuid4().hex}"
            operator.request(
                "POST",
                "/api/v1/ranges",
                json={
                    "slug": slug,
                    "name": title,
                    "country": country,
                    "capabilities": ["containers"],
                    "capacity": {"cpu_millicores": 4000, "memory_mib": 4096, "slots": 3, "gpus": 0},
                    "policy": {"max_foreign_share": 1.0, "max_booking_minutes": None},
                    "connector": {
                        "kind": "fake",
                        "config": {
                            "world": f"demo-{name}-{uuid.uuid4().hex[:6]}",
                            "ready_after": 1.0,
                            "token": credential,
                        },
                    },
                },
            )
            hub_org = organisation(root, "EU hub", "BE", "federation_peer")
            operator.request("PUT", f"/api/v1/ranges/{slug}/publications/{hub_org}")
            peers.append((name, url, token(root, hub_org, "peer", "eu-hub")))
            secrets_at_home.append(credential)
            rows.append([name, url, slug, country, "simulated (fake connector)"])
        output.table("National instances", ["instance", "API", "range", "country", "runs on"], rows)

        heading("2. The hub adds both as peers and imports their ranges")
        hub_url, hub_admin = stack.enter_context(running_server(_settings(base, "eu-hub", "BE", 0.5)))
        hub = ApiClient(hub_url, hub_admin)
        for name, url, peer_token in peers:
            added = hub.request(
                "POST", "/api/v1/peers", json={"name": name, "base_url": url, "token": peer_token}
            )
            output.console.print(
                f"peer {added['name']} ({added['api_version']}): {', '.join(added['ranges'])}"
            )
        school = organisation(hub, "EU cyber school", "BE", "training_provider")
        trainer = ApiClient(hub_url, token(hub, school, "trainer", "trainer-demo"))
        trainer.request("POST", "/api/v1/scenarios", json={"document": SCENARIO})

        heading(f"3. A trainer on the hub schedules an exercise for {teams} teams across both peers")
        body = exercise_request(
            teams,
            minutes,
            start_in,
            name="Baltic Shield (federated demo)",
            scenario="federation-drill",
            roster=TEAMS,
        )
        created = trainer.request("POST", "/api/v1/exercises", json=body)
        exercise_id = created["id"]
        output.table(
            "Placement (both peers held, then confirmed: all or nothing)",
            ["team", "range"],
            [[a["team"], a["range"]] for a in created["placement"]["assignments"]],
        )

        fetch = progress.fetcher(trainer, f"/api/v1/exercises/{exercise_id}")
        heading("4. Deploy through the peers' federation APIs; access for each team")
        up = follow(fetch, progress.up, timeout=300)
        progress.access_table(trainer.request("GET", f"/api/v1/exercises/{exercise_id}/access"))
        heading(f"5. The exercise runs until {up['end']}; then everything is torn down at the peers")
        final = follow(fetch, is_over, timeout=minutes * 60 + 300)
        progress.events_table(final, last=6)
        failed = [t for t in final["teams"] if t.get("failed_stage")]
        answers = str(created) + str(up) + str(final)
    hub_files = (base.data_dir / "demo-federation" / "eu-hub").rglob("*")
    seen = b"".join(p.read_bytes() for p in hub_files if p.is_file()) + answers.encode()
    leaked = [s for s in secrets_at_home if s.encode() in seen]
    heading("Result")
    output.console.print(
        f"exercise {final['status']}; the nationals' credentials in the hub's database or "
        f"answers: {'[red]FOUND[/]' if leaked else '[green]none[/]'}"
    )
    if leaked or failed or not is_over(final):
        raise typer.Exit(1)
    output.console.print(f"[green]federated demo finished[/] in {time.monotonic() - started:.0f}s")
