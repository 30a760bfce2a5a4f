"""Every scenario in the library validates, renders on Kubernetes, and every object passes the schema.

Parametrised over whatever `scenarios/library/*/scenario.yaml` exist, so a scenario added to the library
is covered without touching this file. Each renders for a range that grants exactly what it asks for; one
that asks for something dangerous is also refused by a range that grants nothing. Images a scenario
builds itself render as pulled from the range's registry, and are refused by a range without one.
"""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest

from connectors.base import ConnectorRefusal, SecurityAllowance
from connectors.kubernetes.network import AccessMode, NetworkOptions
from connectors.kubernetes.render import render_instance
from scenarios.bundle import load_bundle
from scenarios.images import DEFAULT_BASE, pinned
from scenarios.loader import load_file
from scenarios.validation import security_problems
from tests.unit.kubernetes.scenarios import allowance_for, instance

LIBRARY = Path(__file__).resolve().parents[3] / "scenarios" / "library"
DOCUMENTS = sorted(LIBRARY.glob("*/scenario.yaml"))
REGISTRY = "http://registry.example:5000"


@pytest.mark.parametrize("document", DOCUMENTS, ids=[d.parent.name for d in DOCUMENTS])
def test_library_scenario_renders_and_every_object_validates(document: Path) -> None:
    scenario = pinned(load_bundle(document), base=DEFAULT_BASE)
    for access in (AccessMode.NODE_PORT, AccessMode.LOAD_BALANCER):
        objects = render_instance(
            instance(scenario, allowance=allowance_for(scenario)),
            network=NetworkOptions(access=access),
            registry=REGISTRY,
        )
        assert objects[0]["kind"] == "Namespace"
        assert len([o for o in objects if o["kind"] == "Deployment"]) == len(scenario.spec.hosts)
        for obj in objects:
            if access is AccessMode.NODE_PORT or obj["kind"] in ("Service", "ResourceQuota"):
                kubernetes_validate.validate(obj, "1.33", strict=True)
    if security_problems(scenario):
        with pytest.raises(ConnectorRefusal):
            render_instance(instance(scenario, allowance=SecurityAllowance()))

    images = {
        o["metadata"]["name"]: o["spec"]["template"]["spec"]["containers"][0]["image"]
        for o in render_instance(instance(scenario, allowance=allowance_for(scenario)), registry=REGISTRY)
        if o["kind"] == "Deployment"
    }
    for host in scenario.spec.hosts:
        expected = f"registry.example:5000/{host.image}" if host.build else host.image
        assert images[host.name] == expected
    if any(h.build for h in scenario.spec.hosts):
        with pytest.raises(ConnectorRefusal, match="names no registry"):
            render_instance(instance(scenario, allowance=allowance_for(scenario)))
        unpinned = load_file(document)
        with pytest.raises(ConnectorRefusal, match="content tag"):
            render_instance(instance(unpinned, allowance=allowance_for(unpinned)), registry=REGISTRY)
