"""Finding 7: `scenario list` and `show` know the scenarios uploaded to the server, and `upload` of a
file that is not there says so."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import yaml

from scenarios import library
from tests.integration.catalogue.helpers import create_org, issue
from tests.integration.cli.helpers import flat, invoke


def test_uploaded_scenarios_are_listed_and_shown(api_url: str, admin_token: str, tmp_path: Path) -> None:
    with httpx.Client(base_url=api_url) as http:
        org = create_org(http, admin_token, "CERT-FI", "FI", kind="training_provider")
        trainer = issue(http, admin_token, org, "trainer", "fi-trainer")
    source = library.scenario_dir("ctf-starter")
    data = yaml.safe_load((source / library.SCENARIO_FILE).read_text())
    data["metadata"]["name"] = "fi-ctf"
    data["metadata"]["title"] = "Finnish capture the flag"
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "plant-proof.yml").write_text(
        (source / "playbooks" / "plant-proof.yml").read_text()
    )
    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    env = {"FEDERANGE_URL": api_url, "FEDERANGE_TOKEN": trainer}
    uploaded = invoke("scenario", "upload", str(tmp_path / "scenario.yaml"), env=env)
    assert uploaded.exit_code == 0, uploaded.output

    listed = invoke("scenario", "list", "--json", env=env)
    assert listed.exit_code == 0, listed.output
    found = {d["name"]: d for d in json.loads(listed.stdout)}
    assert found["fi-ctf"]["source"] == "uploaded"
    assert set(library.names()) <= set(found)  # and the library beside it
    table = flat(invoke("scenario", "list", env=env).stdout)
    assert "fi-ctf" in table and "uploaded" in table

    shown = invoke("scenario", "show", "fi-ctf", env=env)
    assert shown.exit_code == 0, shown.output
    assert "fi-ctf@" in shown.stdout and "Finnish capture the flag" in shown.stdout
    assert "Footprint per team instance" in shown.stdout
    assert json.loads(invoke("scenario", "show", "fi-ctf", "--json", env=env).stdout)["source"] == "uploaded"

    offline = invoke("scenario", "list", "--json")  # no token: the built-in library, as before
    assert sorted(d["name"] for d in json.loads(offline.stdout)) == sorted(library.names())
    assert invoke("scenario", "show", "ctf-starter").exit_code == 0


def test_uploading_a_file_that_does_not_exist_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    result = invoke("scenario", "upload", str(missing), env={"FEDERANGE_TOKEN": "t"})
    assert result.exit_code == 2
    text = flat(result.output)
    assert "missing.yaml" in text and "does not exist" in text
    assert "library scenario" not in text
