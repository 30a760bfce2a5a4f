"""The fake connector under the contract: an in-memory world per test module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from connectors import fake, registry
from connectors.base import Connector, InstanceSpec
from scenarios.model import Scenario
from tests.contract.harness import contract_scenario

MARKS = ()


class FakeHarness:
    kind = "fake"
    ready_timeout = 5.0

    def __init__(self) -> None:
        self.world_name = f"contract-{uuid.uuid4().hex[:8]}"
        self.config = {"world": self.world_name, "ready_after": 0.2, "fail_ready": ["broken-team"]}

    def connector(self) -> Connector:
        return registry.load("fake", self.config)

    def scenario(self) -> Scenario:
        return contract_scenario(image="registry.invalid/none:1")

    def failing_scenario(self) -> Scenario:
        # The fake fails readiness by team name: the suite deploys failing scenarios for "broken-team".
        return contract_scenario(image="registry.invalid/none:1", failing=True)

    def arrange_partial_failure(self, instance: InstanceSpec) -> None:
        fake.world(self.world_name).fail_next_deploys("simulated: second host refused")

    def leftovers(self, instance_id: str) -> Sequence[str]:
        w = fake.world(self.world_name)
        with w.lock:
            return [i for i in w.instances if i == instance_id]

    def labels(self, instance_id: str) -> Sequence[Mapping[str, str]]:
        w = fake.world(self.world_name)
        with w.lock:
            deployed = w.instances.get(instance_id)
        return [] if deployed is None else [deployed.spec.labels()]


@contextmanager
def harness() -> Iterator[FakeHarness]:
    h = FakeHarness()
    yield h
    fake.world(h.world_name).reset()
