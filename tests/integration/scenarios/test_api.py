"""/api/v1/scenarios over HTTP on SQLite and PostgreSQL: the library and uploaded versions, footprints and
topology, document-path errors, and versions that become immutable once used."""

from __future__ import annotations

import httpx
import yaml

from orchestrator.catalogue.scenario_facts import ScenarioPin
from orchestrator.wiring import Services
from scenarios import library
from scenarios.footprint import footprint
from tests.integration.catalogue.helpers import auth, create_org, issue

CTF = (library.scenario_dir("ctf-starter") / "scenario.yaml").read_text()


def uploaded(name: str = "acme-lab", version: str = "1.0.0", *, title: str = "ACME lab") -> str:
    data = yaml.safe_load(CTF)
    data["metadata"].update(name=name, version=version, title=title)
    data["spec"]["provisioning"] = []  # an uploaded document travels without its playbook files
    return yaml.safe_dump(data, sort_keys=False)


def tokens(http: httpx.Client, admin: str) -> dict[str, str]:
    org = create_org(http, admin, "CERT-EE", "EE", kind="training_provider")
    other = create_org(http, admin, "CERT-LV", "LV", kind="training_provider")
    ria = create_org(http, admin, "RIA", "EE", kind="range_operator")
    return {
        "trainer": issue(http, admin, org, "trainer", "ee-trainer"),
        "other_trainer": issue(http, admin, other, "trainer", "lv-trainer"),
        "operator": issue(http, admin, ria, "operator", "ee-ops"),
        "researcher": issue(http, admin, org, "researcher", "ee-research"),
    }


def test_the_library_is_listed_with_footprints(http: httpx.Client, admin_token: str) -> None:
    who = tokens(http, admin_token)
    assert http.get("/api/v1/scenarios").status_code == 401
    listed = http.get("/api/v1/scenarios", headers=auth(who["researcher"]))
    assert listed.status_code == 200, listed.text
    by_name = {s["name"]: s for s in listed.json()}
    assert set(library.names()) <= set(by_name)
    ctf = by_name["ctf-starter"]
    expected = footprint(library.load_library("ctf-starter"))
    assert ctf["footprint"]["cpu_millicores"] == expected.cpu_millicores
    assert ctf["footprint"]["memory_mib"] == expected.memory_mib
    assert ctf["footprint"]["slots"] == 1
    assert ctf["source"] == "library" and ctf["organisation_id"] is None
    assert by_name["web-dvwa"]["requires"] == []  # its tools are in the images it builds: no egress


def test_a_scenario_shows_its_topology_without_values(http: httpx.Client, admin_token: str) -> None:
    who = tokens(http, admin_token)
    got = http.get("/api/v1/scenarios/ctf-starter", headers=auth(who["trainer"]))
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["versions"] == ["1.0.0"]
    assert [s["name"] for s in body["segments"]] == ["public", "internal"]
    assert {h["name"]: h["entry"] for h in body["hosts"]} == {"web": True, "jump": True, "vault": False}
    assert {v["name"]: v["kind"] for v in body["variables"]}["vault_pin"] == "integer"
    assert all(set(v) == {"name", "kind", "secret", "description"} for v in body["variables"])
    assert body["document"] == CTF
    one = http.get("/api/v1/scenarios/ctf-starter/versions/1.0.0", headers=auth(who["trainer"]))
    assert one.json()["digest"] == body["digest"]
    missing = http.get("/api/v1/scenarios/ctf-starter/versions/9.9.9", headers=auth(who["trainer"]))
    assert missing.status_code == 404
    assert missing.json()["detail"] == (
        "scenario 'ctf-starter@9.9.9' does not exist in your organisation or the library"
    )
    assert http.get("/api/v1/scenarios/nope", headers=auth(who["trainer"])).status_code == 404


def test_trainers_upload_versions_and_used_versions_are_immutable(
    http: httpx.Client, admin_token: str, services: Services
) -> None:
    who = tokens(http, admin_token)
    trainer = {**auth(who["trainer"]), "Content-Type": "application/yaml"}
    first = http.post("/api/v1/scenarios", content=uploaded(), headers=trainer)
    assert first.status_code == 201, first.text
    assert first.json()["source"] == "uploaded" and first.json()["versions"] == ["1.0.0"]
    again = http.post("/api/v1/scenarios", content=uploaded(), headers=trainer)
    assert again.status_code == 200

    refused = http.post(
        "/api/v1/scenarios",
        content=uploaded(),
        headers={**auth(who["operator"]), "Content-Type": "application/yaml"},
    )
    assert refused.status_code == 403
    assert (
        "uploading scenarios needs role admin (any organisation), trainer (its own organisation)"
        in (refused.json()["detail"])
    )

    changed = http.post("/api/v1/scenarios", content=uploaded(title="ACME lab, fixed"), headers=trainer)
    assert changed.status_code == 201  # not used yet: the version may still change
    assert changed.json()["title"] == "ACME lab, fixed"

    # Another organisation's upload of the same name is its own scenario: it never replaces ours.
    theirs = http.post(
        "/api/v1/scenarios", json={"document": uploaded(title="mine now")}, headers=auth(who["other_trainer"])
    )
    assert theirs.status_code == 201
    assert theirs.json()["owner"] != first.json()["owner"]
    assert http.get("/api/v1/scenarios/acme-lab", headers=trainer).json()["title"] == "ACME lab, fixed"

    owner = first.json()["owner"]
    with services.uow() as uow:
        uow.scenarios.mark_used(
            uow.scenarios.pinned(ScenarioPin(owner=owner, name="acme-lab", version="1.0.0", digest=""))
        )
    frozen = http.post("/api/v1/scenarios", content=uploaded(title="too late"), headers=trainer)
    assert frozen.status_code == 409
    assert "is immutable; upload a new version" in frozen.json()["detail"]

    newer = http.post(
        "/api/v1/scenarios", json={"document": uploaded(version="1.1.0")}, headers=auth(who["trainer"])
    )
    assert newer.status_code == 201, newer.text
    assert newer.json()["versions"] == ["1.0.0", "1.1.0"]
    latest = {s["name"]: s for s in http.get("/api/v1/scenarios", headers=trainer).json()}["acme-lab"]
    assert latest["version"] == "1.1.0"
    old = http.get("/api/v1/scenarios/acme-lab/versions/1.0.0", headers=trainer).json()
    assert old["title"] == "ACME lab, fixed" and old["first_used_at"] is not None


def test_invalid_uploads_name_document_paths(http: httpx.Client, admin_token: str) -> None:
    who = tokens(http, admin_token)
    trainer = {**auth(who["trainer"]), "Content-Type": "application/yaml"}
    bad = yaml.safe_load(uploaded())
    bad["spec"]["hosts"][2]["segments"] = ["dmz2"]
    bad["spec"]["hosts"][1]["name"] = "web"
    del bad["spec"]["hosts"][0]["resources"]
    structural = http.post("/api/v1/scenarios", content=yaml.safe_dump(bad), headers=trainer)
    assert structural.status_code == 422
    assert structural.headers["content-type"].startswith("application/problem+json")
    assert structural.json()["errors"] == [{"field": "spec.hosts[0].resources", "reason": "Field required"}]
    bad["spec"]["hosts"][0]["resources"] = {"requests": {"cpu_millicores": 10, "memory_mib": 16}}
    crossref = http.post("/api/v1/scenarios", content=yaml.safe_dump(bad), headers=trainer)
    assert crossref.status_code == 422
    fields = {(e["field"], e["reason"]) for e in crossref.json()["errors"]}
    assert ("spec.hosts[1].name", "duplicate host 'web'") in fields
    assert ("spec.hosts[2].segments[0]", "unknown segment 'dmz2'") in fields

    library_name = http.post("/api/v1/scenarios", content=CTF, headers=trainer)
    assert library_name.status_code == 201
    assert "the library has a scenario named 'ctf-starter'" in library_name.json()["warnings"][-1]
    for body, headers, reason in (
        ("", trainer, "empty document"),
        ("apiVersion: v1\nkind: Pod\n", trainer, "expected apiVersion 'federange/v1' and kind 'Scenario'"),
        ("{}", {**auth(who["trainer"]), "Content-Type": "application/json"}, 'expected {"document"'),
        ("x", {**auth(who["trainer"]), "Content-Type": "image/png"}, "unsupported content type 'image/png'"),
    ):
        answer = http.post("/api/v1/scenarios", content=body, headers=headers)
        assert answer.status_code == 422, answer.text
        assert reason in answer.json()["detail"]
