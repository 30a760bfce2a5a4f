"""`federange ranges check-access RANGE` over the API (`GET /api/v1/ranges/{range}/access`), against the
API double's RBAC: each missing permission is listed and the command fails; with the shipped rules it
passes; a range of another kind is a report saying it cannot be asked."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from typer.testing import CliRunner

from orchestrator.cli import app
from tests.support.kube_api import KubeApiServer
from tests.support.kube_api.rbac import shipped_rules

runner = CliRunner()


@pytest.fixture(scope="module")
def double() -> Iterator[KubeApiServer]:
    with KubeApiServer() as server:
        yield server


def _register(env: dict[str, str], slug: str, config: dict[str, str], kind: str = "kubernetes") -> None:
    args = ["ranges", "register", "--slug", slug, "--name", slug, "--country", "LV", "-c", "k8s"]
    args += ["--cpu", "8000", "--memory", "16384", "--slots", "4", "--connector", kind]
    for key, value in config.items():
        args += ["--config", f"{key}={value}"]
    done = runner.invoke(app, args, env=env)
    assert done.exit_code == 0, done.output


def test_check_access_lists_what_is_missing_and_passes_with_the_shipped_rules(
    double: KubeApiServer, api_url: str, admin_token: str
) -> None:
    admin = {"FEDERANGE_URL": api_url, "FEDERANGE_TOKEN": admin_token}
    org = runner.invoke(app, ["orgs", "create", "--name", "CERT.LV", "--country", "LV", "--json"], env=admin)
    assert org.exit_code == 0, org.output
    issued = runner.invoke(
        app,
        [
            "tokens",
            "issue",
            "--name",
            "ops",
            "--org",
            json.loads(org.stdout)["id"],
            "--role",
            "operator",
            "--json",
        ],
        env=admin,
    )
    assert issued.exit_code == 0, issued.output
    operator = {"FEDERANGE_URL": api_url, "FEDERANGE_TOKEN": json.loads(issued.stdout)["token"]}
    no_patch = [r for r in shipped_rules() if "namespaces" not in r.resources]
    _register(operator, "partial", {"server": double.url, "token": double.grant("partial", no_patch)})
    _register(operator, "granted", {"server": double.url, "token": double.grant("granted", shipped_rules())})
    _register(operator, "simulated", {}, kind="fake")

    partial = runner.invoke(app, ["ranges", "check-access", "partial", "--json"], env=operator)
    assert partial.exit_code == 1
    report = json.loads(partial.stdout)
    assert report["ok"] is False and report["connector_kind"] == "kubernetes"
    assert report["missing"] == [
        f"{v} namespaces" for v in ("create", "delete", "get", "list", "patch", "watch")
    ]
    shown = runner.invoke(app, ["ranges", "check-access", "partial"], env=operator)
    assert shown.exit_code == 1 and "patch namespaces" in shown.stdout

    granted = runner.invoke(app, ["ranges", "check-access", "granted"], env=operator)
    assert granted.exit_code == 0, granted.output
    assert "every permission the connector needs" in granted.stdout

    other = httpx.get(
        f"{api_url}/api/v1/ranges/simulated/access",
        headers={"Authorization": f"Bearer {operator['FEDERANGE_TOKEN']}"},
    )
    assert other.status_code == 200
    assert other.json()["ok"] is False
    assert "cannot check its credentials' permissions" in other.json()["reason"]
    refused = runner.invoke(app, ["ranges", "check-access", "simulated"], env=operator)
    assert refused.exit_code == 1 and "could not be asked" in refused.output
    stranger = httpx.get(
        f"{api_url}/api/v1/ranges/granted/access", headers={"Authorization": f"Bearer {admin_token}"}
    )
    assert stranger.status_code == 200  # admins may ask about every range
