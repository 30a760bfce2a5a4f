"""Collects every connector harness (`harness_<kind>.py`) and parametrises the contract suite over them."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.harness import Harness

KINDS = sorted(p.stem.removeprefix("harness_") for p in Path(__file__).parent.glob("harness_*.py"))


def _module(kind: str) -> object:
    return importlib.import_module(f"tests.contract.harness_{kind}")


@pytest.fixture(
    params=[pytest.param(k, marks=getattr(_module(k), "MARKS", ())) for k in KINDS], scope="module"
)
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    module = _module(request.param)
    with module.harness() as h:  # type: ignore[attr-defined]
        yield h
