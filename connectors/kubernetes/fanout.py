"""Run one call over many instances at once, at most `max_parallel` at a time, never failing as a whole.

Each item gets its own outcome (its result, or the reason it failed), in the order the items were given,
so deploying fifty team instances reports exactly which ones did not make it and why. The API server is
protected by the connector's shared rate limiter, not by this pool's width.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

from connectors.base import ConnectorError, ConnectorRefusal

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, kw_only=True)
class Outcome(Generic[R]):
    key: str
    result: R | None = None
    error: str = ""
    refused: bool = False

    @property
    def ok(self) -> bool:
        return not self.error


def fan_out(
    call: Callable[[T], R], items: Sequence[T], *, key: Callable[[T], str], max_parallel: int
) -> list[Outcome[R]]:
    """`call(item)` for every item on a bounded thread pool. Refusals and connector errors become failed
    outcomes with their reason; any other exception is a bug and propagates."""

    def one(item: T) -> Outcome[R]:
        name = key(item)
        try:
            return Outcome(key=name, result=call(item))
        except ConnectorRefusal as exc:
            return Outcome(key=name, error=exc.reason, refused=True)
        except ConnectorError as exc:
            log.warning("%s failed: %s", name, exc.reason)
            return Outcome(key=name, error=exc.reason)

    if not items:
        return []
    with ThreadPoolExecutor(
        max_workers=max(1, min(max_parallel, len(items))), thread_name_prefix="fanout"
    ) as pool:
        return list(pool.map(one, items))
