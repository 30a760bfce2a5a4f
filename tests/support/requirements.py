"""Skip a test whose real component is missing, unless CI says that component is required.

`FEDERANGE_TEST_REQUIRE="postgres docker"` (set by .ci/run) turns those skips into failures, so a CI
machine that lost its PostgreSQL or Docker engine goes red instead of silently testing less.
"""

from __future__ import annotations

import os

import pytest


def required(component: str) -> bool:
    return component in os.environ.get("FEDERANGE_TEST_REQUIRE", "").split()


def skip_or_fail(component: str, reason: str) -> None:
    if required(component):
        pytest.fail(f"{component} is required here (FEDERANGE_TEST_REQUIRE) but unavailable: {reason}")
    pytest.skip(reason)
