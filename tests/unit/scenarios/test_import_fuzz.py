"""Every importer, fed hypothesis-generated YAML and mutations of real files, ends in one of two ways only:
an imported scenario that validates (it survives a YAML round trip through the loader), or an
ImportRefused whose path names the offending part of the input (a path that exists in the document, or
whose parent does for a missing key); a refusal of the whole document (no path) only says the document
is not of the format, is incomplete, or is not YAML. Any other exception, and a refusal saying the
importer produced an invalid scenario, fail the test.

Bounded and deterministic (derandomized, no example database): it runs in CI like any unit test.
"""

from __future__ import annotations

import copy
import functools
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scenarios.importers.cyris import import_cyris
from scenarios.importers.kctf import import_kctf
from scenarios.importers.kypo import import_kypo
from scenarios.importers.report import Imported, ImportRefused
from scenarios.importers.tables import load_tables
from scenarios.loader import load_text
from scenarios.serialise import dump_yaml

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
KYPO = FIXTURES / "corpus" / "kypo"
CYRIS = FIXTURES / "corpus" / "cyris"
SANDBOX = "backend-sandbox-service__crczp_sandbox_instance_app_tests_assets_"
TABLES = load_tables()

Importer = Callable[[Path], Imported]
IMPORTERS: dict[str, tuple[Importer, list[Path]]] = {
    "kypo": (
        lambda p: import_kypo(p, tables=TABLES),
        [
            KYPO / "library-junior-hacker__topology.yml",
            KYPO / "library-secret-laboratory__topology.yml",
            KYPO / "backend-topology-definition__tests_assets_topology.yml",
            KYPO / "backend-topology-definition__tests_assets_topology-with-monitoring.yml",
            KYPO / f"{SANDBOX}definition_flavor_mapping.yml",
            FIXTURES / "kypo-sandbox" / "topology.yml",
        ],
    ),
    "cyris": (lambda p: import_cyris(p, tables=TABLES), sorted(CYRIS.glob("*.yml"))),
    "kctf": (import_kctf, sorted((FIXTURES / "kctf").glob("*/challenge.yaml"))),
}
#: Words of the formats, so generated documents reach past the first checks.
VOCABULARY = [
    "name", "hosts", "routers", "wan", "networks", "net_mappings", "router_mappings", "groups", "nodes",
    "base_box", "image", "mgmt_user", "man_user", "mgmt_protocol", "mng_protocol", "flavor", "hidden",
    "block_internet", "volumes", "extra", "cidr", "accessible_by_user", "host", "network", "ip", "router",
    "vpn", "monitoring_targets", "host_settings", "guest_settings", "clone_settings", "id", "tasks",
    "basevm_config_file", "basevm_os_type", "range_id", "guests", "guest_id", "number", "entry_point",
    "forwarding_rules", "rule", "topology", "type", "members", "gateway", "add_account", "account",
    "passwd", "apiVersion", "kind", "metadata", "spec", "network", "public", "ports", "port", "targetPort",
    "protocol", "healthcheck", "enabled", "podTemplate", "template", "containers", "env", "value",
    "resources", "requests", "limits", "cpu", "memory", "powDifficultySeconds", "deployed",
]  # fmt: skip
WORDS = [
    "false", "true", "yes", "no", "", "kali", "windows-10", "debian-12-x86_64", "office", "servers",
    "servers.webserver", "office.desktop", "src=office dst=servers.webserver dport=25,53", "dst=x",
    "src=servers dst=office dport=1:2", "winrm", "ssh", "TCP", "UDP", "kctf.dev/v1", "Challenge",
    "challenge", "500m", "1Gi", "0.0.0.0/0", "a b", "x.y.z", "standard.small",
]  # fmt: skip

chars = st.characters(blacklist_categories=("Cs",))  # (lone surrogates cannot be written as UTF-8)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=70_000),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(chars, max_size=10),
    st.sampled_from(WORDS),
)
keys = st.one_of(st.sampled_from(VOCABULARY), st.text(chars, min_size=1, max_size=8))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=5)),
    max_leaves=25,
)
documents = st.one_of(st.dictionaries(keys, values, max_size=8), st.lists(values, max_size=5), scalars)

FUZZ = settings(
    max_examples=120,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="federange-import-fuzz-") as name:
        yield Path(name)


def names_a_part(document: Any, path: str) -> bool:
    """Whether `path` (`hosts[2].base_box`, `[1].guest_settings[0]`) leads into `document`; the last step
    may be missing (a required key the document lacks, also below an empty value)."""
    steps = re.findall(r"\[(\d+)\]|([^.\[\]]+)", path)
    node = document
    for n, (index, key) in enumerate(steps):
        last = n == len(steps) - 1
        if node is None and last:  # nothing where a mapping or list was expected counts as an empty one
            return True
        if index:
            if not isinstance(node, list):
                return False
            if int(index) >= len(node):
                return last
            node = node[int(index)]
        else:
            if not isinstance(node, dict):
                return False
            match = [k for k in node if str(k) == key]
            if not match:
                return last
            node = node[match[0]]
    return True


def check_outcome(run: Importer, file: Path) -> None:
    """Run the importer on `file` and check the outcome against the document as the importer reads it."""
    try:
        document = yaml.safe_load(file.read_text(encoding="utf-8"))
    except Exception:  # not YAML at all: only a refusal of the whole document will do
        document = None
    outcome = attempt(lambda: run(file))
    if isinstance(outcome, ImportRefused):
        assert not outcome.reason.startswith("the imported scenario is not valid"), str(outcome)
        if outcome.path:
            assert names_a_part(document, outcome.path), f"the refusal names no part of the input: {outcome}"
        else:
            whole = (
                outcome.reason.startswith(("not ", "cannot read"))
                or "but an incomplete one" in outcome.reason
            )
            assert whole, f"a refusal without a path that is not about the whole document: {outcome}"
        return
    assert load_text(dump_yaml(outcome.scenario)) == outcome.scenario


def attempt(run: Callable[[], Imported]) -> Imported | ImportRefused:
    """The import, or its refusal; any other exception propagates (and fails the test)."""
    try:
        return run()
    except ImportRefused as refused:
        return refused


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _paths(value, (*prefix, i))
    return found


def _mutate(document: Any, data: st.DataObject) -> Any:
    """One to three edits anywhere in the document: replace a part, delete it, add a key, change its type."""
    for _ in range(data.draw(st.integers(min_value=1, max_value=3), label="edits")):
        paths = _paths(document)
        where = data.draw(st.sampled_from(paths), label="path")
        op = data.draw(st.sampled_from(["replace", "delete", "add", "retype"]), label="op")
        if not where:
            document = data.draw(values, label="document") if op == "replace" else document
            continue
        parent = document
        for step in where[:-1]:
            parent = parent[step]
        last = where[-1]
        if op == "replace":
            parent[last] = data.draw(values, label="value")
        elif op == "delete":
            del parent[last]
        elif op == "add" and isinstance(parent[last], dict):
            parent[last][data.draw(keys, label="key")] = data.draw(values, label="value")
        elif op == "add" and isinstance(parent[last], list):
            parent[last].append(data.draw(values, label="value"))
        else:
            old = parent[last]
            parent[last] = data.draw(
                st.sampled_from([str(old), [old], {"value": old}, None]), label="retyped"
            )
    return document


@functools.cache
def _parsed(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _write(workdir: Path, name: str, document: Any) -> Path:
    target = workdir / name
    target.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return target


@pytest.mark.parametrize("importer", sorted(IMPORTERS))
@FUZZ
@given(document=documents)
def test_generated_documents_import_or_are_refused_by_path(
    workdir: Path, importer: str, document: Any
) -> None:
    run, _ = IMPORTERS[importer]
    check_outcome(run, _write(workdir, f"generated-{importer}.yml", document))


@pytest.mark.parametrize("importer", sorted(IMPORTERS))
@FUZZ
@given(data=st.data())
def test_mutated_corpus_files_import_or_are_refused_by_path(
    workdir: Path, importer: str, data: st.DataObject
) -> None:
    run, corpus = IMPORTERS[importer]
    original = data.draw(st.sampled_from(corpus), label="file")
    document = _mutate(copy.deepcopy(_parsed(original)), data)
    name = "challenge.yaml" if importer == "kctf" else f"mutated-{importer}.yml"
    check_outcome(run, _write(workdir, name, document))


@pytest.mark.parametrize("importer", sorted(IMPORTERS))
@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_damaged_text_of_corpus_files_is_imported_or_refused(
    workdir: Path, importer: str, data: st.DataObject
) -> None:
    """Byte-level damage (a slice replaced by random text) exercises the YAML reading itself."""
    run, corpus = IMPORTERS[importer]
    original = data.draw(st.sampled_from(corpus), label="file").read_text(encoding="utf-8")
    start = data.draw(st.integers(min_value=0, max_value=len(original)), label="start")
    end = data.draw(st.integers(min_value=start, max_value=min(len(original), start + 40)), label="end")
    damaged = original[:start] + data.draw(st.text(chars, max_size=20), label="insert") + original[end:]
    target = workdir / ("challenge.yaml" if importer == "kctf" else f"damaged-{importer}.yml")
    target.write_text(damaged, encoding="utf-8")
    check_outcome(run, target)


SIDE_FILES = {
    "containers": (KYPO / f"{SANDBOX}definition_flavor_mapping.yml", KYPO / f"{SANDBOX}containers.yml"),
    "variables": (
        KYPO / "library-secret-laboratory__topology.yml",
        KYPO / "library-secret-laboratory__variables.yml",
    ),
}


def _names_a_side_part(document: Any, path: str, prefix: str) -> bool:
    """A path into a KYPO side file: `containers.yml: containers[1].image`, `variables.yml: flag.type`
    (variable names may hold dots: the longest name that prefixes the rest wins)."""
    if not path.startswith(prefix):
        return False
    rest = path.removeprefix(prefix)
    if prefix.startswith("variables") and isinstance(document, dict):
        for key in sorted((str(k) for k in document), key=len, reverse=True):
            if rest == key:
                return True
            if rest.startswith(key + "."):
                return names_a_part(document[key], rest.removeprefix(key + "."))
        return False
    return names_a_part(document, rest)


@pytest.mark.parametrize("side", sorted(SIDE_FILES))
@settings(FUZZ, max_examples=80)
@given(data=st.data())
def test_mutated_kypo_side_files_import_or_are_refused_by_path(
    workdir: Path, side: str, data: st.DataObject
) -> None:
    topology, original = SIDE_FILES[side]
    document = _mutate(copy.deepcopy(_parsed(original)), data)
    target = _write(workdir, f"{side}.yml", document)
    outcome = attempt(lambda: import_kypo(topology, tables=TABLES, **{side: target}))
    if isinstance(outcome, ImportRefused):
        assert outcome.source == str(target), str(outcome)
        assert not outcome.reason.startswith("the imported scenario is not valid"), str(outcome)
        if outcome.path:
            seen = yaml.safe_load(target.read_text(encoding="utf-8"))
            assert _names_a_side_part(seen, outcome.path, f"{side}.yml: "), str(outcome)
        else:
            assert outcome.reason.startswith("not ") or "but an incomplete one" in outcome.reason, str(
                outcome
            )
        return
    assert load_text(dump_yaml(outcome.scenario)) == outcome.scenario
