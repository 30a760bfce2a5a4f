"""Every library scenario really runs and is really solvable: its images are built on the local base,
it is deployed on the real Docker engine by the Docker connector, provisioned, and its own walkthrough
recovers every flag of that instance (`federange scenario test`'s code path); two instances of one
scenario have different flags, and each walkthrough finds its own instance's.

Slow on a cold machine (the images are built from Debian packages, a few minutes); content tags make
the builds of a later run cost nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors.docker.connector import DockerConnector
from orchestrator.cli.scenario_build import build_all, deliver
from orchestrator.cli.scenario_testing import Outcome, check_scenario
from scenarios import library
from scenarios.images import built_images
from scenarios.walkthrough import load_solution, recovered
from tests.support.images import DOCKER_URL, docker_api, ensure_base_image, ensure_busybox_image

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def engine() -> Iterator[tuple[DockerConnector, str]]:
    api = docker_api()
    try:
        base = ensure_base_image(api)
        busybox = ensure_busybox_image(api)
    finally:
        api.close()
    connector = DockerConnector({"base_url": DOCKER_URL, "image_map": {"busybox:1.36": busybox}})
    yield connector, base
    connector.close()


def run(name: str, engine: tuple[DockerConnector, str], instance_id: str) -> Outcome:
    connector, base = engine
    bundle = library.bundle(name)
    images = built_images(bundle, base=base)
    build_all(connector, images, on_line=lambda line: None)
    assert deliver(connector, connector, [i.tag for i in images], on_line=lambda line: None) == {
        i.tag: "present" for i in images
    }, "a range on the build engine has the images already"
    solution = load_solution(bundle)
    assert solution is not None
    outcome = check_scenario(
        bundle,
        solution,
        connector,
        range_name="test engine",
        base=base,
        instance_id=instance_id,
        seed=b"library-walkthroughs",
        ready_timeout=240,
        on_line=lambda line: None,
    )
    assert connector.objects(instance_id) == [], "the instance is torn down after the test"
    return outcome


def solved(outcome: Outcome) -> dict[str, Any]:
    assert outcome.error == "", f"{outcome.scenario}: {outcome.error}\n{outcome.stderr[-3000:]}"
    unsolved = [v.variable for v in outcome.verdicts if not v.solved]
    assert unsolved == [], f"{outcome.scenario}: unsolved {unsolved}\n{outcome.stderr[-3000:]}"
    return recovered(outcome.stdout)


@pytest.mark.parametrize("name", ["web-dvwa", "samba-enterprise", "ics-modbus", "log-forensics"])
def test_the_walkthrough_recovers_every_flag(name: str, engine: tuple[DockerConnector, str]) -> None:
    found = solved(run(name, engine, f"lw-{name[:8].strip('-')}"))
    flags = [v.name for v in library.load_library(name).spec.variables if v.kind.value == "flag"]
    assert set(flags) <= set(found)


def test_two_instances_have_their_own_flags(engine: tuple[DockerConnector, str]) -> None:
    first = solved(run("ctf-starter", engine, "lw-ctf-a"))
    second = solved(run("ctf-starter", engine, "lw-ctf-b"))
    assert len(first) == 5 and set(first) == set(second)
    assert all(first[name] != second[name] for name in first), (first, second)
