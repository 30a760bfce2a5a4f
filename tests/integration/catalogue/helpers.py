"""Small HTTP helpers for catalogue tests."""

from __future__ import annotations

from typing import Any

import httpx

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: ee-range
  cluster:
    server: https://k8s.ee-range.example:6443
    certificate-authority-data: TUlJQ0FLRS1jYS1kYXRhLWZvci10ZXN0cw==
users:
- name: federange
  user:
    token: s3cr3t-kube-token-that-must-never-leak-0xDEADBEEF
contexts:
- name: ee
  context: {cluster: ee-range, user: federange}
current-context: ee
"""
SECRET_MARKER = "s3cr3t-kube-token-that-must-never-leak-0xDEADBEEF"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create_org(http: httpx.Client, admin: str, name: str, country: str, kind: str = "range_operator") -> str:
    r = http.post(
        "/api/v1/organisations", json={"name": name, "country": country, "kind": kind}, headers=auth(admin)
    )
    assert r.status_code == 201, r.text
    org_id: str = r.json()["id"]
    return org_id


def issue(http: httpx.Client, admin: str, org_id: str, role: str, name: str) -> str:
    r = http.post(
        "/api/v1/tokens", json={"name": name, "organisation_id": org_id, "role": role}, headers=auth(admin)
    )
    assert r.status_code == 201, r.text
    token: str = r.json()["token"]
    return token


def range_body(slug: str = "ee-range", country: str = "EE", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "slug": slug,
        "name": "Estonian national cyber range",
        "country": country,
        "capabilities": ["k8s", "ics"],
        "capacity": {"cpu_millicores": 64000, "memory_mib": 262144, "slots": 20, "gpus": 0},
        "policy": {"allowed_countries": ["EE", "FI", "LV"], "max_foreign_share": 0.5},
        "connector": {
            "kind": "kubernetes",
            "config": {"namespace_prefix": "fr", "kubeconfig": KUBECONFIG},
        },
    }
    body.update(overrides)
    return body
