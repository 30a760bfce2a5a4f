"""`federange demo`: the whole federation story on this machine, on the embedded default.

An in-process server (API + scheduler) on a fresh SQLite database in the data directory, two national
ranges registered by their operators, a trainer who schedules a federated exercise for several teams,
the teams placed across both ranges and deployed on time, their access details, and the teardown at the
end with nothing left behind. Every step goes over the public HTTP API, as a real user's would.

The ranges are Docker ranges on the local engine when one answers (the scenario's busybox image is pulled,
or built from the host's busybox binary when no registry is reachable); otherwise simulated ranges (the
in-memory fake connector), and the output says so. When the current kubeconfig context answers, it is
registered as a third range (Kubernetes, the main path), next to the Docker ones.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx
import typer
import yaml

from orchestrator.cli import output, progress
from orchestrator.cli.client import ApiClient
from orchestrator.cli.options import current
from orchestrator.settings import Settings

SCENARIO = "ctf-starter"
SCENARIO_IMAGE = "busybox:1.36"
LOCAL_IMAGE = "federange-demo/busybox:local"
# slug, country, operator organisation, instance slots
RANGES = [
    ("ee-range", "EE", "Estonian national cyber range", 2),
    ("lv-range", "LV", "Latvian national cyber range", 3),
]
#: One team per instance slot of the two ranges: the most teams the demo can place.
CAPACITY = sum(slots for *_, slots in RANGES)
DEFAULT_TEAMS = 3
TEAMS = [("red", "EE"), ("blue", "LV"), ("green", "EE"), ("white", "LT"), ("orange", "LV")][:CAPACITY]
#: What to try once the demo is over (printed at its end).
NEXT_COMMANDS = [
    ("federange server", "run a server of your own on the embedded default, then follow the README tour"),
    ("federange scenario list", "the scenario library the exercises run"),
    (f"federange demo --teams {CAPACITY} --minutes 5", "every slot of both ranges, for five minutes"),
]


class Backend(StrEnum):
    auto = "auto"
    docker = "docker"
    simulated = "simulated"


KUBE_RANGE = ("kube-range", "FI", "Finnish national cyber range (your current Kubernetes context)", 3)


@dataclass
class RangeBackend:
    """What the demo ranges run on: a connector kind, its config per range, and how to say it."""

    kind: str
    describe: str
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    docker_url: str = ""


@dataclass
class KubeRange:
    """The current kubeconfig context as a Kubernetes range."""

    context: str
    config: dict[str, Any]
    version: str


def kube_context_range(kubeconfig: str) -> tuple[KubeRange | None, str]:
    """The current context of the kubeconfig file (the first of KUBECONFIG's list) when its API server
    answers the connector's probe; otherwise None and why."""
    path = Path(kubeconfig.split(os.pathsep, maxsplit=1)[0]).expanduser()
    if not path.is_file():
        return None, f"no kubeconfig at {path}"
    text = path.read_text()
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        return None, f"{path} is not YAML: {exc}"
    context = str(document.get("current-context") or "") if isinstance(document, dict) else ""
    if not context:
        return None, f"{path} has no current context"
    try:
        from connectors import registry

        config: dict[str, Any] = {"kubeconfig": text, "context": context}
        connector = registry.load("kubernetes", {**config, "retry_attempts": 1, "request_timeout": 10})
    except Exception as exc:  # a missing client or an unusable kubeconfig: the reason is shown
        return None, f"context {context!r} cannot be used: {exc}"
    try:
        probe = connector.probe()
    finally:
        connector.close()
    if not probe.healthy:
        return None, f"context {context!r} does not answer: {probe.reason}"
    return KubeRange(context=context, config=config, version=probe.version), ""


def heading(text: str) -> None:
    output.console.rule(f"[bold]{text}")


def docker_backend(url: str) -> RangeBackend:
    """Docker ranges on the engine at `url`; raises RuntimeError with the reason when that cannot be."""
    from connectors import registry
    from connectors.base import ConnectorError
    from connectors.capabilities import ImageSupply

    try:
        engine = registry.load("docker", {"base_url": url, "retries": 1})
    except ImportError as exc:
        raise RuntimeError("the Docker client is not installed: pip install 'federange[demo]'") from exc
    try:
        missing = registry.load_provisioner("ansible").unavailable()  # the scenario's playbook needs it
        if missing:
            raise RuntimeError(f"{missing} (pip install 'federange[demo]')")
        probe = engine.probe()
        if not probe.healthy:  # the connector's reason quotes the client library's exception: not for people
            raise RuntimeError(f"no Docker engine answers at {url} (start one, or name it with --docker-url)")
        if not isinstance(engine, ImageSupply):
            raise RuntimeError("this Docker connector cannot supply images")
        try:
            image = engine.supply_image(SCENARIO_IMAGE, local_tag=LOCAL_IMAGE)
        except ConnectorError as exc:
            raise RuntimeError(exc.reason) from exc
    finally:
        engine.close()
    config = {
        "base_url": url,
        "image_map": dict(image.image_map),
        "pull": "never" if image.image_map else "if-missing",
    }
    return RangeBackend(
        kind="docker",
        describe=f"Docker ranges on the engine at {url}; {image.how}",
        configs={slug: dict(config) for slug, *_ in RANGES},
        docker_url=url,
    )


def simulated_backend(reason: str) -> RangeBackend:
    run = uuid.uuid4().hex[:8]
    return RangeBackend(
        kind="fake",
        describe=f"SIMULATED ranges (in-memory; nothing is deployed): {reason}",
        configs={
            slug: {"world": f"demo-{slug}-{run}", "deploy_latency": 1.0, "ready_after": 2.0}
            for slug, *_ in RANGES
        },
    )


def choose_backend(backend: Backend, docker_url: str) -> RangeBackend:
    if backend is Backend.simulated:
        return simulated_backend("asked for with --ranges simulated")
    quiet = logging.getLogger("connectors")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # "is there an engine?" expects failed attempts: the answer says why
    try:
        return docker_backend(docker_url)
    except RuntimeError as exc:
        if backend is Backend.docker:
            output.errors.print(f"[bold red]Docker ranges are not available[/]: {exc}")
            raise typer.Exit(1) from exc
        return simulated_backend(str(exc))
    finally:
        quiet.setLevel(level)


@contextmanager
def running_server(settings: Settings) -> Iterator[tuple[str, str]]:
    """Migrate the demo database, start the scheduler and the API; yields (url, admin token)."""
    from orchestrator.api.embedded import serve_in_background
    from orchestrator.db import migrate
    from orchestrator.db.engine import make_engine
    from orchestrator.scheduler.runner import SchedulerRunner
    from orchestrator.wiring import build

    engine = make_engine(settings.resolved_database_url())
    try:
        migrate.upgrade(engine, settings=settings)
    finally:
        engine.dispose()
    services = build(settings)
    runner = SchedulerRunner(services)
    runner.start()
    try:
        with services.uow() as uow:
            admin = services.catalogue(uow.catalogue).bootstrap_admin(
                organisation_name="Federation administration", country="BE"
            )
        with serve_in_background(services) as url:
            yield url, admin.plaintext
    finally:
        runner.shutdown()
        services.close()


def organisation(client: ApiClient, name: str, country: str, kind: str) -> str:
    """A new organisation's id (the client holds an admin token)."""
    org: dict[str, Any] = client.request(
        "POST", "/api/v1/organisations", json={"name": name, "country": country, "kind": kind}
    )
    return str(org["id"])


def token(client: ApiClient, org: str, role: str, name: str) -> str:
    """A new token of a principal `name` with `role` in `org` (the client holds an admin token)."""
    issued = client.request(
        "POST", "/api/v1/tokens", json={"name": name, "organisation_id": org, "role": role}
    )
    return str(issued["token"])


def onboard(url: str, admin: str, backend: RangeBackend, kube: KubeRange | None) -> str:
    """Operators register their ranges; a training provider gets a trainer token (returned)."""
    root = ApiClient(url, admin)

    ranges = [(*r, backend.kind, backend.configs[r[0]]) for r in RANGES]
    if kube is not None:
        ranges.append((*KUBE_RANGE, "kubernetes", kube.config))
    rows = []
    for slug, country, name, slots, kind, config in ranges:
        operator = ApiClient(
            url, token(root, organisation(root, name, country, "range_operator"), "operator", f"{slug}-ops")
        )
        registered = operator.request(
            "POST",
            "/api/v1/ranges",
            json={
                "slug": slug,
                "name": name,
                "country": country,
                "capabilities": ["containers", kind],
                "capacity": {"cpu_millicores": 4000, "memory_mib": 4096, "slots": slots, "gpus": 0},
                "connector": {"kind": kind, "config": config},
                # shared in full with the federation: every slot can take a foreign team (the
                # default shares half with foreign organisations, and the demo's trainer is foreign on
                # every range but one)
                "policy": {"max_foreign_share": 1.0},
            },
        )
        rows.append([registered["slug"], country, name, str(slots), kind])
    output.table(
        "Ranges registered by their operators", ["range", "country", "operator", "slots", "connector"], rows
    )
    school = organisation(root, "Baltic cyber school", "EE", "training_provider")
    return token(root, school, "trainer", "trainer-demo")


def exercise_request(
    teams: int,
    minutes: float,
    starts_in: float,
    *,
    name: str = "Baltic Shield (demo)",
    scenario: str = SCENARIO,
    roster: Sequence[tuple[str, str]] = TEAMS,
) -> dict[str, Any]:
    """The demo's exercise: the first `teams` teams of `roster` (name, country) on at least two ranges."""
    start = datetime.now(UTC) + timedelta(seconds=starts_in)
    return {
        "name": name,
        "scenario": scenario,
        "teams": [{"name": n, "organisation": f"CERT-{c}", "country": c} for n, c in roster[:teams]],
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=minutes)).isoformat(),
        "lead_minutes": 0,
        "constraints": {"min_ranges": 2},
    }


def probe_entry_points(access: list[dict[str, Any]]) -> list[list[str]]:
    """Fetch every team's web entry point over HTTP, as a team member's browser would."""
    rows = []
    for team in access:
        for endpoint in team["endpoints"]:
            if endpoint.get("host") != "web" or not endpoint.get("url"):
                continue
            address = str(endpoint["url"]).replace("tcp://", "http://")
            try:
                page = httpx.get(address + "/", timeout=10)
                title = "Acme Widgets" in page.text
                answer = f"HTTP {page.status_code}" + (" - the team's web site" if title else "")
            except httpx.HTTPError as exc:
                answer = f"no answer: {exc}"
            rows.append([team["team"], address, answer])
    return rows


def leftovers(backend: RangeBackend, exercise_id: str) -> list[str]:
    """Instances of the exercise the Docker engine still holds objects for (Docker ranges only)."""
    if backend.kind != "docker":
        return []
    from connectors import registry

    engine = registry.load("docker", {"base_url": backend.docker_url})
    try:
        return [
            f"instance {r.instance_id} ({r.phase.value})"
            for r in engine.list_instances()
            if r.exercise == exercise_id
        ]
    finally:
        engine.close()


def is_over(exercise: dict[str, Any]) -> bool:
    return exercise["status"] in ("done", "cancelled")


def follow(
    fetch: Callable[[], dict[str, Any]], until: Callable[[dict[str, Any]], bool], timeout: float
) -> dict[str, Any]:
    return progress.watch(fetch, until=until, interval=0.5, timeout=timeout, stop_on_interrupt=False)


def demo(
    teams: int = typer.Option(
        DEFAULT_TEAMS,
        "--teams",
        min=2,
        max=CAPACITY,
        help=f"How many teams take part (at most {CAPACITY}: one per instance slot of the two ranges)",
    ),
    minutes: float = typer.Option(
        1.0, "--minutes", min=0.1, max=120, help="How long the exercise runs once it starts"
    ),
    ranges: Backend = typer.Option(
        Backend.auto,
        "--ranges",
        help="docker (the local engine), simulated, or auto (docker when it answers)",
    ),
    start_in: float = typer.Option(
        10.0, "--start-in", min=0, max=3600, help="Seconds until the exercise starts"
    ),
    kubeconfig: str = typer.Option(
        os.environ.get("KUBECONFIG", "~/.kube/config"),
        "--kubeconfig",
        help="Its current context becomes a third range when it answers ('' to leave Kubernetes out)",
    ),
    docker_url: str = typer.Option(
        os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"), "--docker-url", help="Docker engine"
    ),
    federation: bool = typer.Option(
        False,
        "--federation",
        help="The ranges on two national Federange instances (simulated ranges), the trainer on a hub",
    ),
) -> None:
    """Run a federated exercise end to end on this machine: two ranges, N teams, deploy, access, teardown."""
    if federation:
        from orchestrator.cli import demo_federation

        demo_federation.run(teams=min(teams, len(demo_federation.TEAMS)), minutes=minutes, start_in=start_in)
        return
    started = time.monotonic()
    settings = Settings()
    (settings.data_dir / "demo").mkdir(parents=True, exist_ok=True)
    # each run its own directory (two demos at once never share or delete each other's data), removed
    # at the end
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=settings.data_dir / "demo"))
    summary: dict[str, Any] = {}
    machine = current().machine
    people = output.console
    if machine:  # the story goes to stderr, the summary alone to stdout
        output.console = output.errors
    try:
        _run(
            summary,
            workdir,
            settings,
            teams=teams,
            minutes=minutes,
            ranges=ranges,
            start_in=start_in,
            kubeconfig=kubeconfig,
            docker_url=docker_url,
            started=started,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        output.console = people
        if machine and summary:
            output.machine(summary["result"])


def _run(
    summary: dict[str, Any],
    workdir: Path,
    settings: Settings,
    *,
    teams: int,
    minutes: float,
    ranges: Backend,
    start_in: float,
    kubeconfig: str,
    docker_url: str,
    started: float,
) -> None:
    demo_settings = settings.model_copy(
        update={
            "database_url": f"sqlite:///{workdir / 'federange.db'}",
            "scheduler_tick_seconds": 0.5,
            "reconcile_interval_seconds": 5.0,
            "probe_interval_seconds": 3600.0,
            "ready_timeout_seconds": 180.0,
            "instance_seed": settings.instance_seed or secrets.token_hex(16),
        }
    )
    heading("1. Ranges")
    backend = choose_backend(ranges, docker_url)
    output.console.print(backend.describe)
    kube, why_not = kube_context_range(kubeconfig) if kubeconfig else (None, "left out with --kubeconfig ''")
    if kube is not None:
        output.console.print(
            f"Kubernetes range on your current context {kube.context!r} (server {kube.version})"
        )
    else:
        output.console.print(f"no Kubernetes range: {why_not}")
    output.console.print(
        f"database: {demo_settings.resolved_database_url()} (the embedded default, fresh; removed at the end)"
    )
    with running_server(demo_settings) as (url, admin):
        output.console.print(f"Federange API at {url} (scheduler in the same process)")
        trainer = ApiClient(url, onboard(url, admin, backend, kube))

        heading(f"2. A trainer schedules '{SCENARIO}' for {teams} teams")
        body = exercise_request(teams, minutes, starts_in=start_in)
        created = trainer.request("POST", "/api/v1/exercises", json=body)
        exercise_id = created["id"]
        countries = {t["name"]: t["country"] for t in body["teams"]}
        output.table(
            "Placement (one booking per range, all or nothing)",
            ["team", "country", "range", "why"],
            [
                [a["team"], countries.get(a["team"], ""), a["range"], a.get("reason", "")]
                for a in created["placement"]["assignments"]
            ],
        )
        bookings = trainer.request("GET", "/api/v1/bookings", params={"reference": exercise_id})["items"]
        output.table(
            "Bookings",
            ["range", "status", "window", "slots", "cpu (m)", "memory (MiB)"],
            [
                [
                    b["range"],
                    b["status"],
                    f"{b['start']} -> {b['end']}",
                    str(b["demand"]["slots"]),
                    str(b["demand"]["cpu_millicores"]),
                    str(b["demand"]["memory_mib"]),
                ]
                for b in bookings
            ],
        )

        fetch = progress.fetcher(trainer, f"/api/v1/exercises/{exercise_id}")
        try:
            heading(f"3. Deploy at {created['deploy_at']}: one isolated instance per team")
            up = follow(fetch, progress.up, timeout=600)
            failed = [t for t in up["teams"] if t["stage"] == "failed"]
            heading("4. Access details handed to the teams")
            access = trainer.request("GET", f"/api/v1/exercises/{exercise_id}/access")
            progress.access_table(access)
            simulated = set(backend.configs) if backend.kind == "fake" else set()
            probes = probe_entry_points([a for a in access if a["range"] not in simulated])
            if probes:
                output.table("Entry points answering", ["team", "address", "answer"], probes)
            heading(f"5. The exercise runs until {up['end']}; then everything is torn down")
            final = follow(fetch, is_over, timeout=minutes * 60 + 600)
        except KeyboardInterrupt:
            output.errors.print("[yellow]interrupted: cancelling the exercise and tearing down[/]")
            trainer.request("POST", f"/api/v1/exercises/{exercise_id}/cancel")
            final = follow(fetch, is_over, timeout=300)
            failed = []
        progress.events_table(final, last=8)
        released = trainer.request("GET", "/api/v1/bookings", params={"reference": exercise_id})["items"]
        remains = leftovers(backend, exercise_id)

    heading("Result")
    output.console.print(
        f"exercise {final['status']}; bookings: "
        + ", ".join(sorted(f"{b['range']} {b['status']}" for b in released))
    )
    if remains:
        output.errors.print(f"[bold red]left behind on the engine[/]: {', '.join(remains)}")
    elif backend.kind == "docker":
        output.console.print("[green]nothing left on the Docker engine[/]")
    for team in failed:
        output.errors.print(
            f"[red]team {team['team']} failed[/] at {team.get('failed_stage')}: {team.get('stage_reason')}"
        )
    summary["result"] = {
        "exercise": exercise_id,
        "status": final["status"],
        "ranges": backend.kind,
        "bookings": {b["range"]: b["status"] for b in released},
        "failed_teams": [t["team"] for t in failed],
        "left_behind": remains,
        "seconds": round(time.monotonic() - started, 1),
        "next": [command for command, _ in NEXT_COMMANDS],
    }
    if remains or failed or not is_over(final):
        raise typer.Exit(1)
    output.console.print(f"[green]demo finished[/] in {time.monotonic() - started:.0f}s")
    output.console.print("\nNext, try:")
    for command, why in NEXT_COMMANDS:
        output.console.print(f"  {command:<42} # {why}", highlight=False)
