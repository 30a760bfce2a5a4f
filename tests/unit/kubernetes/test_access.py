"""One statement of the connector's Kubernetes permissions (connectors.kubernetes.access.RULES): the
range chart's ClusterRole rules (helm/federange-range/connector-rules.yaml) and the table in
docs/kubernetes.md are exactly it."""

from __future__ import annotations

from pathlib import Path

import yaml

from connectors.kubernetes import access

REPO = Path(__file__).resolve().parents[3]
DOC = REPO / "docs" / "kubernetes.md"
RULES_FILE = REPO / "helm" / "federange-range" / "connector-rules.yaml"


def table() -> list[str]:
    rows = ["| API group | resources | verbs |", "| --- | --- | --- |"]
    for groups, resources, verbs in access.RULES:
        group = ", ".join(f"`{g}`" if g else "core" for g in groups)
        rows.append(f"| {group} | {', '.join(resources)} | {', '.join(verbs)} |")
    return rows


def test_the_chart_grants_exactly_the_rules_the_connector_states() -> None:
    shipped = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    assert shipped == access.policy_rules()


def test_docs_list_exactly_those_permissions() -> None:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("<!-- permissions:")
    block = text[start : text.index("<!-- end permissions -->")].splitlines()[1:]
    assert [line for line in block if line.strip()] == table()


def test_each_permission_reads_as_words() -> None:
    assert str(access.Permission("", "namespaces", "patch")) == "patch namespaces"
    assert str(access.Permission("apps", "deployments", "create")) == "create deployments (API group apps)"
    assert len(access.required()) == len(set(access.required())) == 38
