"""The CLI tests run against a live API on the embedded default (SQLite): what they check is the
command line, which is the same whatever database the server uses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import fresh_database


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database("sqlite", tmp_path) as url:
        yield url
