"""Logs people can use: JSON events with the ids of what they are about, an idle scheduler that says
nothing at INFO, and one traceback per unexpected error."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from orchestrator.api.app import create_app
from orchestrator.domain.actions import DueAction
from orchestrator.scheduler.actions import ActionRunner
from orchestrator.wiring import Services, logs
from tests.support.live import free_port


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The process's log events as `logs.configure` writes them in JSON; the root logger restored after."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    logs.configure(fmt="json", level="INFO", stream=stream)
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


def events(stream: io.StringIO) -> list[dict[str, str]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_json_event_names_the_due_action_and_its_instance(
    services: Services, captured: io.StringIO
) -> None:
    with services.uow() as uow:
        action = uow.actions.schedule(
            kind="probe",
            object_kind="instance",
            object_id="inst-7",
            due_at=services.clock.now(),
            now=services.clock.now(),
        )

    def handler(_services: Services, _action: DueAction) -> None:
        logging.getLogger("connectors.somewhere").warning("the range is slow today")

    runner = ActionRunner(services, {"probe": handler}, worker="w1")
    assert runner.tick() == 1
    said = [e for e in events(captured) if e["message"] == "the range is slow today"]
    assert len(said) == 1
    assert said[0]["instance_id"] == "inst-7"
    assert said[0]["action_id"] == action.id and said[0]["action_kind"] == "probe"
    assert said[0]["level"] == "WARNING" and said[0]["logger"] == "connectors.somewhere"


def test_human_lines_carry_the_ids_before_the_traceback() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        logs.configure(fmt="human", stream=stream)
        with logs.action_context(exercise_id="ex-1"):
            try:
                raise ValueError("boom")
            except ValueError:
                logging.getLogger("t").exception("it failed")
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
    first, *rest = stream.getvalue().splitlines()
    assert first.endswith("ERROR t: it failed [exercise_id=ex-1]")
    assert rest[0].startswith("Traceback")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_unexpected_error_is_one_traceback_and_a_500_problem(
    services: Services, captured: io.StringIO
) -> None:
    app = create_app(services)

    def explode() -> None:
        raise RuntimeError("the disk is on fire")

    app.add_api_route("/explode", explode)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.02)
        answer = httpx.get(f"http://127.0.0.1:{port}/explode", timeout=10)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "fire" not in answer.text  # the reason goes to the log, not to the client
    text = captured.getvalue()
    assert text.count("Traceback (most recent call last)") == 1, text
    (failure,) = [e for e in events(captured) if "error" in e]
    assert "RuntimeError: the disk is on fire" in failure["error"]
    assert failure["message"] == "unhandled error on GET /explode"


def test_an_idle_scheduler_logs_nothing_at_info_after_it_started(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "FEDERANGE_DATA_DIR": str(tmp_path),
        "FEDERANGE_DATABASE_URL": "",
        "FEDERANGE_LOG_FORMAT": "json",
        "FEDERANGE_SCHEDULER_TICK_SECONDS": "0.1",
        "FEDERANGE_PROBE_INTERVAL_SECONDS": "0.2",
        "FEDERANGE_RECONCILE_INTERVAL_SECONDS": "0.2",
        "FEDERANGE_HEAL_INTERVAL_SECONDS": "0.2",
    }
    cli = [sys.executable, "-m", "orchestrator.cli"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=120)
    log = tmp_path / "scheduler.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([*cli, "scheduler"], env=env, stderr=out, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60  # started: every tick announced (the SIGTERM handler is in place)
        while log.read_text().count("scheduler tick ") < 6 and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.05)
        time.sleep(3.0)  # 30 due-action ticks, 15 of each other tick
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, log.read_text()
    lines = [json.loads(line) for line in log.read_text().splitlines()]  # every line is one JSON event
    ticks = [i for i, e in enumerate(lines) if e["message"].startswith("scheduler tick ")]
    names = [lines[i]["message"].split()[2] for i in ticks]
    assert len(names) >= 6 and len(set(names)) == len(names), names  # each tick it runs said once at start
    assert lines[ticks[-1] + 1 :] == []  # then nothing, tick after tick, until it stopped
    assert all(e["level"] == "INFO" for e in lines) and len(lines) <= len(ticks) + 2, lines
