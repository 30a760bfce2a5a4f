"""The connector config contract, over every connector kind, through the API over HTTP (SQLite and
PostgreSQL): every value a kind's schema marks secret, at any depth, is sealed at rest and never appears
in a range's public view, in the audit log (API or database), in the stored public config, or in a log
line; unknown keys are refused naming their path; a PATCH keeps the secrets it omits and replaces those
it sets.

Each kind's example config sets every secret its schema marks (checked against the schema's marks, so a
new secret field, or a new kind, without an example here fails the suite) with a distinctive marker.
"""

from __future__ import annotations

import itertools
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from connectors import registry
from connectors.schema import mark_matches, secret_marks
from connectors.secrets import ConfigPath, path_text, value_at
from orchestrator.wiring import Services
from tests.integration.catalogue.helpers import auth, create_org, issue, range_body

KINDS = registry.known_kinds()


class Markers:
    """Distinctive secret values, remembered so every one of them can be looked for."""

    def __init__(self, kind: str) -> None:
        self.prefix = f"MARK-{kind}-{uuid.uuid4().hex[:8]}"
        self.counter = itertools.count()
        self.issued: list[str] = []

    def __call__(self) -> str:
        value = f"{self.prefix}-{next(self.counter)}"
        self.issued.append(value)
        return value


def _connection_passwords(mark: Markers) -> dict[str, str]:
    names = ("ansible_password", "ansible_ssh_pass", "ansible_become_pass", "ansible_become_password")
    return {name: mark() for name in names}


def _kubeconfig(mark: Markers) -> str:
    return (
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'https://k8s.range.example:6443'}}]\n"
        f"users: [{{name: u, user: {{token: {mark()}}}}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
    )


#: A valid config per kind with every secret of its schema set (nested ones included) to a marker.
EXAMPLES: dict[str, Callable[[Markers], dict[str, Any]]] = {
    "fake": lambda mark: {"world": f"sealed-{uuid.uuid4().hex[:6]}", "token": mark()},
    "federation": lambda mark: {
        "base_url": "https://lv.example.eu",
        "range": "lv-range",
        "peer": "lv",
        "token": mark(),
        "tls_ca": "CA-PEM",
        "tls_cert": "CERT-PEM",
        "tls_key": mark(),
    },
    "docker": lambda mark: {
        "base_url": "tcp://docker.range.example:2376",
        "tls_ca": "CA-PEM",
        "tls_cert": "CERT-PEM",
        "tls_key": mark(),
    },
    "kubernetes": lambda mark: {"kubeconfig": _kubeconfig(mark), "token": mark(), "namespace_prefix": "fr"},
    "ansible": lambda mark: {
        "playbook_dir": "/srv/federange/vm-range",
        "files": {"id_ed25519": mark(), "ca.pem": mark()},
        "inventory": {
            "all": {
                "vars": {
                    **_connection_passwords(mark),
                    "vault_password": mark(),
                    "ntp_server": "pool.ntp.org",
                },
                "hosts": {
                    "web": {**_connection_passwords(mark), "ansible_port": 22, "db_token": mark()},
                    "db.lab": {"ansible_host": "10.0.0.5", "mysql_root_password": mark()},
                },
                "children": {
                    "lab": {
                        "hosts": {"jump": {"ansible_password": mark()}},
                        "children": {"inner": {"vars": {"ansible_become_pass": mark(), "apiKey": mark()}}},
                    }
                },
            }
        },
        "extra_vars": {
            "range_name": "vm-lab",
            "passphrase": mark(),
            "apikey": mark(),
            "credentials": {"user": "svc", "password": mark()},
            "services": [{"name": "shop", "api_token": mark()}],
        },
        "timeout": 300,
    },
}

#: A public key of each kind's example, changed by the PATCH that must keep every secret.
PUBLIC_CHANGE: dict[str, dict[str, Any]] = {
    "federation": {"timeout_seconds": 20},
    "fake": {"ready_after": 1.5},
    "docker": {"workers": 2},
    "kubernetes": {"namespace_prefix": "lab"},
    "ansible": {"inventory": {"all": {"hosts": {"web": {"ansible_port": 2222}}}}},
}


@pytest.fixture
def server_log() -> Iterator[list[str]]:
    """Every log line any logger of this process emits meanwhile (the API server runs in a thread of
    this process), formatted with its traceback, at DEBUG level."""
    lines: list[str] = []
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(formatter.format(record))

    handler = Collect(level=logging.DEBUG)
    loggers = [
        logging.getLogger(),
        *(logging.getLogger(n) for n in ("uvicorn", "uvicorn.error", "uvicorn.access")),
    ]
    levels = [logger.level for logger in loggers]
    root = loggers[0]
    root.setLevel(logging.DEBUG)
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield lines
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def _secret_paths(kind: str, config: dict[str, Any]) -> list[ConfigPath]:
    return registry.config_secret_paths(kind, config)


def _database_dump(services: Services) -> str:
    with services.engine.connect() as conn:
        rows = [str(r) for r in conn.execute(text("SELECT connector_config, connector_secrets FROM ranges"))]
        rows += [str(r) for r in conn.execute(text("SELECT * FROM audit_events"))]
    return "\n".join(rows)


def test_every_kind_has_an_example_setting_every_secret_its_schema_marks() -> None:
    assert sorted(EXAMPLES) == KINDS, "every connector kind needs an example config here"
    for kind in KINDS:
        config = EXAMPLES[kind](Markers(kind))
        found = _secret_paths(kind, config)
        for mark in secret_marks(registry.config_schema(kind)):
            assert any(mark_matches(mark, p) for p in found), f"{kind}: nothing in the example sets {mark}"
        registry.check_config(kind, config)  # the example is valid


@pytest.mark.parametrize("kind", KINDS)
def test_secrets_are_sealed_and_never_returned_audited_stored_in_clear_or_logged(
    kind: str, http: httpx.Client, admin_token: str, services: Services, server_log: list[str]
) -> None:
    mark = Markers(kind)
    config = EXAMPLES[kind](mark)
    secret_paths = _secret_paths(kind, config)
    org = create_org(http, admin_token, f"{kind} range operator", "EE")
    operator = issue(http, admin_token, org, "operator", f"{kind}-ops")
    other_org = create_org(http, admin_token, "Visiting trainers", "FI", kind="training_provider")
    trainer = issue(http, admin_token, other_org, "trainer", "fi-trainer")
    body = range_body(slug=f"{kind}-range", connector={"kind": kind, "config": config}, policy={})

    created = http.post("/api/v1/ranges", json=body, headers=auth(operator))
    assert created.status_code == 201, created.text
    record = created.json()
    assert record["connector"]["secret_fields"] == sorted(path_text(p) for p in secret_paths)

    # PATCH without the secrets (a public change only): every one stays sealed as it was.
    kept = http.patch(
        f"/api/v1/ranges/{record['id']}",
        json={"connector": {"config": PUBLIC_CHANGE[kind]}},
        headers=auth(operator),
    )
    assert kept.status_code == 200, kept.text
    assert kept.json()["connector"]["secret_fields"] == record["connector"]["secret_fields"]
    # PATCH setting one secret: it is replaced, the others kept.
    replaced_path = secret_paths[0]
    replacement = mark()
    patch: Any = replacement
    for part in reversed(replaced_path):
        assert isinstance(part, str), "the replaced secret sits in mappings only"
        patch = {part: patch}
    replaced = http.patch(
        f"/api/v1/ranges/{record['id']}", json={"connector": {"config": patch}}, headers=auth(operator)
    )
    assert replaced.status_code == 200, replaced.text

    responses = [
        created,
        kept,
        replaced,
        http.get(f"/api/v1/ranges/{record['id']}", headers=auth(operator)),
        http.get(f"/api/v1/ranges/{record['slug']}", headers=auth(trainer)),
        http.get("/api/v1/ranges", headers=auth(admin_token)),
        http.get("/api/v1/ranges", headers=auth(trainer)),
        http.get("/api/v1/audit", headers=auth(admin_token)),
        http.get("/api/v1/audit", params={"object_id": record["id"]}, headers=auth(operator)),
    ]
    assert all(r.status_code in (200, 201) for r in responses), [r.status_code for r in responses]
    audit = responses[-1].json()["items"]
    assert [e["action"] for e in audit] == ["range.update", "range.update", "range.register"]
    stored = _database_dump(services)
    for value in mark.issued:
        for response in responses:
            assert value not in response.text, f"{value} returned by {response.request.url}"
        assert value not in stored, f"{value} stored in clear or audited in the database"
        assert not any(value in line for line in server_log), f"{value} logged"

    # Sealed, not lost: the store hands the connector every value, at its path, the replaced one new.
    with services.uow() as uow:
        reread = uow.catalogue.get_range(record["id"])
    assert reread is not None
    whole = reread.connector.merged()
    for path in secret_paths:
        found, value = value_at(whole, path)
        expected = replacement if path == replaced_path else value_at(config, path)[1]
        assert found and value == expected, path_text(path)
    assert set(reread.connector.secrets) == set(secret_paths)
    for path, change in _leaves(PUBLIC_CHANGE[kind]):
        assert value_at(whole, path)[1] == change  # the public change was applied


def _leaves(data: dict[str, Any], at: ConfigPath = ()) -> list[tuple[ConfigPath, Any]]:
    out: list[tuple[ConfigPath, Any]] = []
    for key, value in data.items():
        if isinstance(value, dict):
            out += _leaves(value, (*at, key))
        else:
            out.append(((*at, key), value))
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_keys_and_bad_values_are_refused_with_their_path(
    kind: str, http: httpx.Client, admin_token: str, server_log: list[str]
) -> None:
    mark = Markers(kind)
    org = create_org(http, admin_token, f"{kind} operator", "EE")
    operator = issue(http, admin_token, org, "operator", f"{kind}-ops")
    config = {**EXAMPLES[kind](mark), "bogus_key": 1}
    expected = {"connector.config.bogus_key"}
    if kind == "ansible":
        config["inventory"]["all"]["hosts"]["web"]["ansible_port"] = "ssh"
        config["inventory"]["all"]["hoster"] = {}
        expected |= {
            "connector.config.inventory.all.hosts.web.ansible_port",
            "connector.config.inventory.all.hoster",
        }
    body = range_body(slug=f"{kind}-bad", connector={"kind": kind, "config": config})
    refused = http.post("/api/v1/ranges", json=body, headers=auth(operator))
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    problems = refused.json()["errors"]
    assert {p["field"] for p in problems} == expected
    assert "unknown key (known: " in next(p["reason"] for p in problems if p["field"].endswith("bogus_key"))
    assert http.get("/api/v1/ranges", headers=auth(operator)).json()["total"] == 0
    for value in mark.issued:
        assert value not in refused.text
        assert not any(value in line for line in server_log)
    # A PATCH is checked the same way.
    good = range_body(slug=f"{kind}-good", connector={"kind": kind, "config": EXAMPLES[kind](mark)})
    assert http.post("/api/v1/ranges", json=good, headers=auth(operator)).status_code == 201
    bad_patch = http.patch(
        f"/api/v1/ranges/{kind}-good",
        json={"connector": {"config": {"bogus_key": {"deep": True}}}},
        headers=auth(operator),
    )
    assert bad_patch.status_code == 422
    assert [p["field"] for p in bad_patch.json()["errors"]] == ["connector.config.bogus_key"]
    assert all(value not in bad_patch.text for value in mark.issued)


def test_the_public_view_lists_secret_paths_only(http: httpx.Client, admin_token: str) -> None:
    mark = Markers("ansible")
    org = create_org(http, admin_token, "VM range operator", "LV")
    operator = issue(http, admin_token, org, "operator", "vm-ops")
    body = range_body(
        slug="vm-range", country="LV", connector={"kind": "ansible", "config": EXAMPLES["ansible"](mark)}
    )
    view = http.post("/api/v1/ranges", json=body, headers=auth(operator)).json()["connector"]
    assert "inventory.all.hosts.web.ansible_password" in view["secret_fields"]
    assert 'inventory.all.hosts["db.lab"].mysql_root_password' in view["secret_fields"]
    assert "files.id_ed25519" in view["secret_fields"]
    web = view["config"]["inventory"]["all"]["hosts"]["web"]
    assert web == {"ansible_port": 22}
    assert view["config"]["extra_vars"] == {"range_name": "vm-lab", "services": [{"name": "shop"}]}
    assert view["config"]["files"] == {}
    assert json.dumps(view).count(mark.prefix) == 0
