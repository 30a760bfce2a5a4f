"""One page of a listing, with the total the listing would have unpaged."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Page:
    items: Sequence[Any]
    total: int
    page: int
    page_size: int
