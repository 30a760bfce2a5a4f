"""The threads the API runs its busiest use cases in, and the hop from the event loop to them.

`UseCaseThreads.run` costs less than `loop.run_in_executor` on a `ThreadPoolExecutor`: one queue put
and one `call_soon_threadsafe` back, where the executor adds a `concurrent.futures.Future` (its lock
and condition), the chaining of that future to an asyncio one and a work item, each with its own
callbacks. Measured on the booking route called in process: about 0.17 of the engine's own CPU per
admission (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)
_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", contextvars.Context, Callable[[], Any]]


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    """On the loop: the waiting route gets the value or the error (unless it was cancelled meanwhile)."""
    if future.done():
        return
    if error is None:
        future.set_result(value)
    else:
        future.set_exception(error)


class UseCaseThreads:
    """`count` daemon threads serving one queue of work, each run in its caller's context."""

    def __init__(self, count: int, *, name: str = "federange-use-case") -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._serve, name=f"{name}_{i}", daemon=True) for i in range(count)
        ]
        for thread in self._threads:
            thread.start()

    async def run(self, work: Callable[[], T]) -> T:
        """Run `work` in one of the threads, in the caller's context (log fields); its value or its
        error. Like FastAPI's thread hop, the work runs to its end even if the caller is cancelled."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put((loop, future, contextvars.copy_context(), work))
        return await future

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            loop, future, context, work = job
            value, error = None, None
            try:
                value = context.run(work)
            except BaseException as exc:  # handed to the route, which raises it
                error = exc
            try:
                loop.call_soon_threadsafe(_settle, future, value, error)
            except RuntimeError:  # the loop closed while the work ran: nobody waits for it any more
                log.debug("a use case finished after its event loop closed")
            # an idle thread keeps nothing of its last job alive (the route's result, its context)
            del job, loop, future, context, work, value, error

    def shutdown(self, wait: bool = True) -> None:
        """Stop the threads once the work queued before this call is done."""
        for _ in self._threads:
            self._jobs.put(None)
        if wait:
            for thread in self._threads:
                if thread is not threading.current_thread():
                    thread.join()
