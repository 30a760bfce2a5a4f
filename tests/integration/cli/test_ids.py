"""Finding 2: tables show ids as prefixes the commands accept, `-o wide` / `--ids` show them in full at
any terminal width, and an ambiguous prefix is refused naming the candidates."""

from __future__ import annotations

import json
from collections import Counter

import httpx

from orchestrator.wiring import Services
from tests.integration.cli.helpers import flat, invoke
from tests.integration.exercises.helpers import federation


def test_ids_in_tables_prefixes_and_wide_output(
    api_url: str, http: httpx.Client, admin_token: str, services: Services
) -> None:
    fed = federation(http, admin_token, ranges={"ee-range": ("EE", 40)})
    trainer = {"FEDERANGE_URL": api_url, "FEDERANGE_TOKEN": fed.trainer, "COLUMNS": "80"}
    booked = []
    for hour in range(17):  # 17 ids over 16 hex digits: two of them start alike
        created = invoke(
            "bookings", "create", "-r", "ee-range", "--slots", "1", "--confirm", "--json",
            "--start", f"2031-01-01T{hour:02d}:00:00Z", "--duration", "30m", env=trainer,
        )  # fmt: skip
        assert created.exit_code == 0, created.output
        booked.append(json.loads(created.stdout)["bookings"][0]["id"])

    table = invoke("bookings", "list", "--page-size", "100", env=trainer)
    assert table.exit_code == 0, table.output
    for booking_id in booked:
        assert booking_id[:8] in table.stdout
        assert booking_id not in table.stdout  # 80 columns: the prefix, not a cut-off id
    for wide in (["-o", "wide"], ["--ids"]):
        full = invoke("bookings", "list", "--page-size", "100", *wide, env=trainer)
        assert full.exit_code == 0, full.output
        assert all(booking_id in full.stdout for booking_id in booked), wide  # whole, on one line

    first = booked[0]
    shown = invoke("bookings", "show", first[:8], "--json", env=trainer)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["id"] == first

    shared, _ = Counter(b[0] for b in booked).most_common(1)[0]
    ambiguous = invoke("bookings", "show", shared, env=trainer)
    assert ambiguous.exit_code == 2
    assert (
        f"'{shared}' is the start of" in flat(ambiguous.output) and "give more characters" in ambiguous.output
    )
    unknown = invoke("bookings", "cancel", "0000000", env=trainer)
    assert unknown.exit_code == 1 and "no booking you may see" in unknown.output

    cancelled = invoke("bookings", "cancel", first[:10], "--json", env=trainer)
    assert cancelled.exit_code == 0, cancelled.output
    assert json.loads(cancelled.stdout)["status"] == "cancelled"


def test_exercise_and_environment_ids_by_prefix(api_url: str, http: httpx.Client, admin_token: str) -> None:
    fed = federation(http, admin_token, ranges={"ee-range": ("EE", 4)})
    trainer = {"FEDERANGE_URL": api_url, "FEDERANGE_TOKEN": fed.trainer, "COLUMNS": "80"}
    created = invoke(
        "exercise", "create", "-s", "ctf-starter", "-t", "red:CERT-EE:EE", "--start", "+3h", "--end", "+5h",
        "-o", "id", env=trainer,
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    exercise_id = created.stdout.strip()
    listed = invoke("exercise", "list", env=trainer)
    assert exercise_id[:8] in listed.stdout and exercise_id not in listed.stdout
    assert exercise_id in invoke("exercise", "list", "-o", "wide", env=trainer).stdout
    status = invoke("exercise", "status", exercise_id[:8], "--json", env=trainer)
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout)["id"] == exercise_id

    researcher = {"FEDERANGE_URL": api_url, "FEDERANGE_TOKEN": fed.researcher, "COLUMNS": "80"}
    launched = invoke(
        "env", "launch", "-s", "ctf-starter", "--ttl", "30", "--no-wait", "-o", "id", env=researcher
    )
    assert launched.exit_code == 0, launched.output
    env_id = launched.stdout.strip()
    assert env_id[:8] in invoke("env", "list", env=researcher).stdout
    renewed = invoke("env", "renew", env_id[:8], "--minutes", "20", "--json", env=researcher)
    assert renewed.exit_code == 0, renewed.output
    assert json.loads(renewed.stdout)["id"] == env_id


def test_a_maintenance_window_by_prefix(api_url: str, http: httpx.Client, admin_token: str) -> None:
    fed = federation(http, admin_token, ranges={"ee-range": ("EE", 2)})
    operator = {"FEDERANGE_URL": api_url, "FEDERANGE_TOKEN": fed.operators["ee-range"]}
    window = ["--start", "2031-03-01T08:00:00Z", "--end", "2031-03-01T12:00:00Z"]
    added = invoke("ranges", "maintenance", "add", "ee-range", *window, "-o", "id", env=operator)
    assert added.exit_code == 0, added.output
    window_id = added.stdout.strip()
    listed = invoke("ranges", "maintenance", "list", "ee-range", env=operator)
    assert window_id[:8] in listed.stdout
    removed = invoke("ranges", "maintenance", "remove", "ee-range", window_id[:8], "--json", env=operator)
    assert removed.exit_code == 0, removed.output
    assert json.loads(removed.stdout) == {"range": "ee-range", "id": window_id, "removed": True}
    assert (
        json.loads(invoke("ranges", "maintenance", "list", "ee-range", "--json", env=operator).stdout) == []
    )
