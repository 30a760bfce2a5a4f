"""Connector config schemas: secret marks at any depth, paths, the registry's view, no SDK to read them."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors import registry
from connectors.base import ConfigInvalid
from connectors.schema import looks_like_credential, parse, secret_paths, secret_texts
from connectors.secrets import merged, parse_path, path_text, split

KINDS = registry.known_kinds()

keys = st.text(min_size=1, max_size=8)
paths = st.lists(st.one_of(keys, st.integers(min_value=0, max_value=99)), min_size=1, max_size=6).map(tuple)


@given(paths)
def test_path_text_and_parse_path_are_inverses(path: tuple[str | int, ...]) -> None:
    assert parse_path(path_text(path)) == path


def test_path_text_reads_like_the_api_field_names() -> None:
    assert (
        path_text(("inventory", "all", "hosts", "web", "ansible_port"))
        == "inventory.all.hosts.web.ansible_port"
    )
    assert path_text(("hosts", "web.lab", "vars")) == 'hosts["web.lab"].vars'
    assert path_text(("entry_cidrs", 0)) == "entry_cidrs[0]"
    with pytest.raises(ValueError, match="expected"):
        parse_path("a..b")


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)),
    max_leaves=12,
)


@given(st.dictionaries(keys, json_values, min_size=1, max_size=4), st.data())
def test_split_then_merged_gives_the_config_back(config: dict[str, Any], data: st.DataObject) -> None:
    def every_path(value: Any, at: tuple[str | int, ...]) -> list[tuple[str | int, ...]]:
        items = (
            value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
        )
        return [p for k, v in items for p in [(*at, k), *every_path(v, (*at, k))]]

    chosen = data.draw(st.lists(st.sampled_from(every_path(config, ()))))
    public, taken = split(config, chosen)
    assert merged(public, taken) == config
    assert all(p[:n] not in taken for p in taken for n in range(1, len(p)))  # an outer value takes the inner


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("ansible_password", True),
        ("ansible_become_pass", True),
        ("vault_password", True),
        ("passphrase", True),
        ("apikey", True),
        ("apiKey", True),
        ("api_key", True),
        ("credentials", True),
        ("DB_TOKEN", True),
        ("private_key", True),
        ("ansible_port", False),
        ("ansible_ssh_private_key_file", False),
        ("keyboard", False),
        ("passage", False),
        ("image_map", False),
    ],
)
def test_credential_looking_names(name: str, secret: bool) -> None:
    assert looks_like_credential(name) is secret


def test_ansible_secrets_are_found_at_any_depth() -> None:
    config = {
        "playbook_dir": "/srv/playbooks",
        "files": {"id_ed25519": "-----BEGIN OPENSSH PRIVATE KEY-----"},
        "inventory": {
            "all": {
                "vars": {"ansible_become_pass": "b", "ntp_server": "pool"},
                "hosts": {"web": {"ansible_password": "p", "ansible_port": 22}, "db": None},
                "children": {"lab": {"children": {"inner": {"hosts": {"h": {"service_token": "t"}}}}}},
            }
        },
        "extra_vars": {"app": {"settings": [{"apikey": "k"}], "name": "shop"}},
    }
    found = {path_text(p) for p in secret_paths(registry.config_schema("ansible"), config)}
    assert found == {
        "files.id_ed25519",
        "inventory.all.vars.ansible_become_pass",
        "inventory.all.hosts.web.ansible_password",
        "inventory.all.children.lab.children.inner.hosts.h.service_token",
        "extra_vars.app.settings[0].apikey",
    }
    public, hidden = registry.check_config("ansible", config)
    assert {path_text(p) for p in hidden} == found
    assert public["inventory"]["all"]["hosts"]["web"] == {"ansible_port": 22}
    assert public["extra_vars"] == {"app": {"settings": [{}], "name": "shop"}}


def test_unknown_keys_and_bad_values_are_named_by_path_without_their_value() -> None:
    config = {
        "playbook_dir": "/srv",
        "inventory": {"all": {"hosts": {"web": {"ansible_port": "ssh", "ansible_password": 7}}, "host": {}}},
        "extra_vars": [],
    }
    with pytest.raises(ConfigInvalid) as refused:
        registry.check_config("ansible", config)
    problems = {path_text(p.path): p.reason for p in refused.value.problems}
    assert set(problems) == {
        "inventory.all.hosts.web.ansible_port",
        "inventory.all.hosts.web.ansible_password",
        "inventory.all.host",
        "extra_vars",
    }
    assert problems["inventory.all.host"] == "unknown key (known: children, hosts, vars)"
    assert "ssh" not in str(refused.value)
    assert refused.value.__cause__ is None and refused.value.__suppress_context__  # no pydantic text chained


@pytest.mark.parametrize("kind", KINDS)
def test_json_schema_marks_every_secret_write_only(kind: str) -> None:
    schema = registry.config_json_schema(kind)
    assert schema["additionalProperties"] is False
    text = str(schema)
    assert "'writeOnly': True" in text
    if kind == "ansible":
        assert schema["properties"]["files"]["additionalProperties"]["writeOnly"] is True
        assert "x-federange-secret-keys" in schema["properties"]["extra_vars"]
        host_vars = schema["$defs"]["HostVars"]
        assert host_vars["properties"]["ansible_password"]["writeOnly"] is True
        assert "x-federange-secret-keys" in host_vars
    if kind == "kubernetes":
        assert schema["properties"]["kubeconfig"]["writeOnly"] is True
        assert schema["properties"]["token"]["writeOnly"] is True
        assert "writeOnly" not in schema["properties"]["server"]


@pytest.mark.parametrize("kind", KINDS)
def test_the_connector_parses_its_config_with_the_registered_schema(kind: str) -> None:
    connector_class: Any = registry.connector_class(kind)
    assert connector_class.config_schema is registry.config_schema(kind)


def test_schemas_are_read_without_any_connector_sdk() -> None:
    script = (
        "import sys\n"
        "from connectors import registry\n"
        "for kind in registry.known_kinds():\n"
        "    registry.config_json_schema(kind)\n"
        "    registry.check_config(kind, {'playbook_dir': '/x'} if kind == 'ansible' else "
        "{'in_cluster': True} if kind == 'kubernetes' else "
        "{'base_url': 'http://127.0.0.1:9', 'token': 't'} if kind == 'federation' else {})\n"
        "print(sorted(m for m in ('kubernetes', 'docker', 'ansible_runner', 'httpx') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def test_reprs_hide_secrets() -> None:
    schema = registry.config_schema("ansible")
    config = schema.model_validate(
        {
            "playbook_dir": "/srv",
            "files": {"key": "PRIVATE-KEY-TEXT"},
            "inventory": {
                "all": {"hosts": {"web": {"ansible_password": "PW-TEXT", "db_token": "TOKEN-TEXT"}}}
            },
        }
    )
    shown = repr(config) + str(config)
    assert "/srv" in shown
    assert not any(s in shown for s in ("PRIVATE-KEY-TEXT", "PW-TEXT", "TOKEN-TEXT"))


def test_secret_texts_are_what_a_connector_redacts() -> None:
    config = parse(
        registry.config_schema("ansible"),
        {
            "playbook_dir": "/srv",
            "files": {"key": "KEY-TEXT"},
            "extra_vars": {"credentials": {"user": "svc", "password": "PW"}, "site": "lab"},
        },
        kind="ansible",
    )
    assert sorted(secret_texts(config)) == ["KEY-TEXT", "PW", "svc"]
