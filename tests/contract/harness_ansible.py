"""The Ansible VM-range connector under the contract, driving the test range's operator playbooks
(tests/integration/connectors/vm_range: busybox "machines" on the local Docker engine) with real
ansible-runner runs."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import docker
import pytest

from connectors import registry
from connectors.base import LABEL_INSTANCE, Connector, InstanceSpec
from scenarios.model import Scenario
from tests.contract.harness import contract_scenario
from tests.support.images import docker_api, ensure_busybox_image

MARKS = (pytest.mark.docker, pytest.mark.ansible, pytest.mark.slow)

PLAYBOOKS = Path(__file__).resolve().parents[1] / "integration" / "connectors" / "vm_range"
RANGE_LABEL = "federange.test/vm-range"


def vm_range_config(image: str, *, range_name: str, state_dir: Path) -> dict[str, Any]:
    return {
        "playbook_dir": str(PLAYBOOKS),
        "extra_vars": {
            "range_name": range_name,
            "image_map": {"busybox:1.36": image},
            "state_dir": str(state_dir),
        },
        "poll_interval": 0.5,
        "status_timeout": 60,
        "timeout": 120,
    }


class AnsibleHarness:
    kind = "ansible"
    ready_timeout = 60.0

    def __init__(self, api: docker.APIClient, image: str, state_dir: Path) -> None:
        self.api = api
        self.range_name = f"vm-{uuid.uuid4().hex[:8]}"
        self.state_dir = state_dir
        self.config = vm_range_config(image, range_name=self.range_name, state_dir=state_dir)

    def connector(self) -> Connector:
        return registry.load("ansible", self.config)

    def scenario(self) -> Scenario:
        return contract_scenario(image="busybox:1.36")

    def failing_scenario(self) -> Scenario:
        return contract_scenario(image="busybox:1.36", failing=True)

    def arrange_partial_failure(self, instance: InstanceSpec) -> None:
        (self.state_dir / f"fail-{instance.instance_id}").write_text("arranged by the contract suite\n")

    def _filters(self, instance_id: str) -> dict[str, list[str]]:
        return {"label": [f"{LABEL_INSTANCE}={instance_id}", f"{RANGE_LABEL}={self.range_name}"]}

    def leftovers(self, instance_id: str) -> Sequence[str]:
        filters = self._filters(instance_id)
        found = [
            f"container:{c['Names'][0]}:{c['Id']}" for c in self.api.containers(all=True, filters=filters)
        ]
        found += [f"network:{n['Name']}:{n['Id']}" for n in self.api.networks(filters=filters)]
        return sorted(found)

    def labels(self, instance_id: str) -> Sequence[Mapping[str, str]]:
        filters = self._filters(instance_id)
        return [c["Labels"] for c in self.api.containers(all=True, filters=filters)] + [
            n["Labels"] for n in self.api.networks(filters=filters)
        ]


@contextmanager
def harness() -> Iterator[AnsibleHarness]:
    api = docker_api()
    with tempfile.TemporaryDirectory(prefix="federange-vm-range-") as state:
        h = AnsibleHarness(api, ensure_busybox_image(api), Path(state))
        try:
            yield h
        finally:
            api.close()
