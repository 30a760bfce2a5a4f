"""The suite's own promise: tests on the Docker engine never run side by side (they measure and clean the
engine they share), so under `--dist loadgroup` they all carry the one group."""

from __future__ import annotations

import pytest


@pytest.mark.docker  # a marker only: nothing here touches the engine
def test_docker_tests_run_in_one_xdist_group(request: pytest.FixtureRequest) -> None:
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not running under pytest-xdist with --dist loadgroup")
    assert request.node.nodeid.endswith("@docker-engine"), request.node.nodeid
