"""Finding 5: a connector config its schema refuses is refused at registration naming the field (API and
CLI); `--check` probes the range and stores the result as its health, shown by the API and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.integration.catalogue.helpers import auth
from tests.integration.cli.helpers import flat, invoke

RANGE = ["--name", "Estonian range", "--country", "EE", "--cpu", "4000", "--memory", "4096", "--slots", "4"]


def _operator(api_url: str, admin_token: str) -> dict[str, str]:
    admin = {"FEDERANGE_URL": api_url, "FEDERANGE_TOKEN": admin_token}
    org = invoke("orgs", "create", "--name", "RIA", "--country", "EE", "-o", "id", env=admin).stdout.strip()
    token = invoke("tokens", "issue", "--name", "ops", "--org", org, "--role", "operator", env=admin).stdout
    return {"FEDERANGE_URL": api_url, "FEDERANGE_TOKEN": token.strip()}


def test_a_misspelled_connector_key_is_refused_naming_the_field(
    api_url: str, admin_token: str, http: httpx.Client
) -> None:
    operator = _operator(api_url, admin_token)
    refused = invoke(
        "ranges", "register", "--slug", "ee-range", *RANGE, "--connector", "docker",
        "--config", "imagemap={busybox:1.36: local/busybox}", env=operator,
    )  # fmt: skip
    assert refused.exit_code == 1
    assert "connector.config.imagemap: unknown key" in flat(refused.output)
    body = {
        "slug": "ee-range", "name": "E", "country": "EE",
        "capacity": {"cpu_millicores": 1000, "memory_mib": 1024, "slots": 1},
        "connector": {"kind": "docker", "config": {"imagemap": {}}},
    }  # fmt: skip
    answer = http.post("/api/v1/ranges", json=body, headers=auth(operator["FEDERANGE_TOKEN"]))
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in answer.json()["errors"]] == ["connector.config.imagemap"]
    no_credentials = invoke(
        "ranges", "register", "--slug", "k8s-range", *RANGE, "--connector", "kubernetes", env=operator
    )
    assert no_credentials.exit_code == 1
    assert "connector.config.kubeconfig: give exactly one way to reach the cluster" in flat(
        no_credentials.output
    )
    assert json.loads(invoke("ranges", "list", "--json", env=operator).stdout)["items"] == []


def test_check_probes_the_range_and_its_health_is_shown(
    api_url: str, admin_token: str, http: httpx.Client, tmp_path: Path
) -> None:
    operator = _operator(api_url, admin_token)
    healthy = invoke(
        "ranges", "register", "--slug", "sim-range", *RANGE, "--connector", "fake",
        "--config", f"world=check-{tmp_path.name}", "--check", "--json", env=operator,
    )  # fmt: skip
    assert healthy.exit_code == 0, healthy.output
    assert json.loads(healthy.stdout)["health"]["healthy"] is True

    failing = invoke(
        "ranges", "register", "--slug", "ee-range", *RANGE, "--connector", "fake",
        "--config", "healthy=false", "--config", "unhealthy_reason=no-engine.sock does not answer",
        "--check", env=operator,
    )  # fmt: skip
    assert failing.exit_code == 1  # registered, and told that it does not answer
    text = flat(failing.output)
    assert "registered range ee-range" in text and "health: FAILING:" in text and "no-engine.sock" in text
    assert "federange ranges update ee-range" in text

    stored = http.get("/api/v1/ranges/ee-range", headers=auth(operator["FEDERANGE_TOKEN"])).json()
    assert stored["health"]["healthy"] is False and "no-engine.sock" in stored["health"]["reason"]
    listed = flat(invoke("ranges", "list", env={**operator, "COLUMNS": "250"}).stdout)
    assert "FAILING:" in listed and " ok " in listed  # both ranges, each with its health
    shown = flat(invoke("ranges", "show", "ee-range", env=operator).stdout)
    assert "health FAILING:" in shown and "no-engine.sock" in shown

    unchecked = invoke(
        "ranges", "register", "--slug", "later-range", *RANGE, "--connector", "fake", env=operator
    )
    assert unchecked.exit_code == 0, unchecked.output
    assert "not probed yet" in flat(invoke("ranges", "show", "later-range", env=operator).stdout)
