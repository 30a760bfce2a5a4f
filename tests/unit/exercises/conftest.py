from __future__ import annotations

import pytest

from tests.unit.exercises.world import Federation, federation


@pytest.fixture
def fed() -> Federation:
    return federation()
