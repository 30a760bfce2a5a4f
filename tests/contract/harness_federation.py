"""The federation connector under the contract: a real second Federange server (its own process and
SQLite database) publishes a range on its fake connector to us; we hold a booking on it with the key
the suite's instances carry (`contract-exercise`) and deploy through the federation API. The range's
objects are what its home instance reports to the range's operator (its peer instances, and their state
on its range)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

import pytest

from connectors import registry
from connectors.base import (
    LABEL_EXERCISE,
    LABEL_INSTANCE,
    LABEL_MANAGED_BY,
    LABEL_TEAM,
    MANAGED_BY,
    Connector,
    InstanceSpec,
)
from scenarios.model import Scenario
from tests.contract.harness import contract_scenario
from tests.support.federation import FederangeProcess, fake_range

MARKS = (pytest.mark.slow,)
SLUG = "lv-contract"


class FederationHarness:
    kind = "federation"
    ready_timeout = 10.0

    def __init__(self, home: FederangeProcess, *, operator: str, peer_token: str) -> None:
        self.home = home
        self.operator = operator
        self.config = {"base_url": home.url, "range": SLUG, "peer": "lv", "token": peer_token}
        self._connector: Connector | None = None

    def connector(self) -> Connector:
        """One connector for the module, as the orchestrator's connector cache keeps one per range."""
        if self._connector is None:
            self._connector = registry.load("federation", self.config)
        return self._connector

    def close(self) -> None:
        if self._connector is not None:
            self._connector.close()

    def scenario(self) -> Scenario:
        return contract_scenario(image="registry.invalid/none:1")

    def failing_scenario(self) -> Scenario:
        return contract_scenario(image="registry.invalid/none:1", failing=True)

    def arrange_partial_failure(self, instance: InstanceSpec) -> None:
        # The home range's own connector fails this instance's deploy part-way (fake: `fail_deploy`).
        self.home.made(
            "PATCH",
            f"/api/v1/ranges/{SLUG}",
            self.operator,
            json={"connector": {"config": {"fail_deploy": [instance.instance_id]}}},
        )

    def _mine(self, instance_id: str) -> list[dict[str, str]]:
        listed = self.home.made("GET", f"/api/v1/ranges/{SLUG}/peer-instances", self.operator)
        return [i for i in listed if i["id"] == instance_id and i["state"] == "running"]

    def leftovers(self, instance_id: str) -> Sequence[str]:
        return [i["id"] for i in self._mine(instance_id)]

    def labels(self, instance_id: str) -> Sequence[Mapping[str, str]]:
        return [
            {
                LABEL_MANAGED_BY: MANAGED_BY,
                LABEL_INSTANCE: i["id"],
                LABEL_EXERCISE: i["exercise"],
                LABEL_TEAM: i["team"],
            }
            for i in self._mine(instance_id)
        ]


@contextmanager
def harness() -> Iterator[FederationHarness]:
    with TemporaryDirectory(prefix="federange-contract-") as tmp:
        home = FederangeProcess(
            name="lv-contract-home",
            country="LV",
            database_url=f"sqlite:///{Path(tmp) / 'home.db'}",
            data_dir=Path(tmp),
        )
        home.setup()
        home.start()
        try:
            ops_org = home.org("LV range operator", "LV", "range_operator")
            operator = home.token(ops_org, "operator", "lv-ops")
            body = fake_range(SLUG, "LV", slots=50, secret="lv-contract-secret")
            body["connector"]["config"].update({"ready_after": 0.2, "fail_ready": ["broken-team"]})
            home.made("POST", "/api/v1/ranges", operator, json=body)
            peer_org = home.org("EU hub", "BE", "federation_peer")
            peer_token = home.token(peer_org, "peer", "eu-hub")
            home.made("PUT", f"/api/v1/ranges/{SLUG}/publications/{peer_org}", operator)
            now = datetime.now(UTC)
            hold = home.made(
                "POST",
                "/federation/v1/holds",
                peer_token,
                json={
                    "key": "contract-exercise",
                    "range": SLUG,
                    "start": now.isoformat(),
                    "end": (now + timedelta(hours=2)).isoformat(),
                    "demand": {"cpu_millicores": 10_000, "memory_mib": 10_000, "slots": 40},
                },
            )
            home.made("POST", f"/federation/v1/holds/{hold['id']}/confirm", peer_token)
            made = FederationHarness(home, operator=operator, peer_token=peer_token)
            try:
                yield made
            finally:
                made.close()
        finally:
            home.stop()
