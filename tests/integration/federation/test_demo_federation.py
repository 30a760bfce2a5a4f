"""`federange demo --federation`: the demo's story with the ranges on two national instances and the
trainer on a hub, run as a user runs it (a subprocess on the embedded default)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.exercises.test_demo import run_demo

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("federation")]


def test_the_federated_demo_books_both_peers_deploys_and_tears_down_without_leaking(tmp_path: Path) -> None:
    done = run_demo(tmp_path, "--federation", "--minutes", "0.3")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "peer ee-hub (federation/v1): ee-range" in out and "peer lv-hub (federation/v1): lv-range" in out
    assert "exercise done" in out
    assert "credentials in the hub's database or answers: none" in out
    assert "federated demo finished" in out
