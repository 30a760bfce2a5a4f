"""Fixtures of the simulated-federation exercise tests: a frozen clock at the module's `NOW`, the
scheduler driver on it, and the federation of helpers.federation."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from orchestrator.domain.clock import FrozenClock
from orchestrator.wiring import Services
from tests.integration.exercises.helpers import Driver, Federation, federation


@pytest.fixture
def clock(request: pytest.FixtureRequest, services: Services) -> FrozenClock:
    frozen = FrozenClock(request.module.NOW)
    services.clock = frozen
    return frozen


@pytest.fixture
def driver(services: Services, clock: FrozenClock) -> Iterator[Driver]:
    d = Driver(services, clock)
    yield d
    d.close()


@pytest.fixture
def fed(request: pytest.FixtureRequest, http: httpx.Client, admin_token: str) -> Federation:
    """The module's `RANGES` when it names its own, else helpers.RANGES."""
    return federation(http, admin_token, ranges=getattr(request.module, "RANGES", None))
