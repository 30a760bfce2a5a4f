"""The threads the API runs its busiest use cases in, and the hop from the event loop to them.

`UseCaseThreads.run` costs less than `loop.run_in_executor` on a `ThreadPoolExecutor`: a job handed
to an idle thread and one `call_soon_threadsafe` back, where the executor adds a
`concurrent.futures.Future` (its lock and condition), the chaining of that future to an asyncio one and
a work item, each with its own callbacks. Measured on the booking route called in process: about 0.17
of the engine's own CPU per admission (docs/benchmarks.md).

The thread that went idle last takes the next job (a stack of idle threads, not one queue that every
thread waits on, which wakes them in turn): at one request at a time the same thread serves them all,
its interpreter state and the objects it touches still in the core's caches; a queue of them cost the
booking route about 0.15 ms of CPU more per request. A job that finds every thread busy waits in a
backlog, taken in order by whichever thread finishes first.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)
_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", contextvars.Context, Callable[[], Any]]
#: What a thread is handed: a job, or None (stop).
_Inbox = queue.SimpleQueue["_Job | None"]


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    """On the loop: the waiting route gets the value or the error (unless it was cancelled meanwhile)."""
    if future.done():
        return
    if error is None:
        future.set_result(value)
    else:
        future.set_exception(error)


class UseCaseThreads:
    """`count` daemon threads, each run of work in its caller's context, on the thread idle the shortest."""

    def __init__(self, count: int, *, name: str = "federange-use-case") -> None:
        self._lock = threading.Lock()
        #: The idle threads' inboxes, the one that went idle last at the end.
        self._idle: list[_Inbox] = []
        #: Jobs (then, at shutdown, one None per busy thread) waiting for a thread to finish.
        self._backlog: deque[_Job | None] = deque()
        self._threads = [
            threading.Thread(target=self._serve, args=(_Inbox(),), name=f"{name}_{i}", daemon=True)
            for i in range(count)
        ]
        for thread in self._threads:
            thread.start()

    async def run(self, work: Callable[[], T]) -> T:
        """Run `work` in one of the threads, in the caller's context (log fields); its value or its
        error. Like FastAPI's thread hop, the work runs to its end even if the caller is cancelled."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._hand((loop, future, contextvars.copy_context(), work))
        return await future

    def _hand(self, job: _Job | None) -> None:
        with self._lock:
            inbox = self._idle.pop() if self._idle else None
            if inbox is None:
                self._backlog.append(job)
        if inbox is not None:
            inbox.put(job)

    def _take(self, inbox: _Inbox) -> tuple[bool, _Job | None]:
        """(True, the oldest job waiting), or (False, None) with this thread now idle: its next job
        comes through its inbox."""
        with self._lock:
            if self._backlog:
                return True, self._backlog.popleft()
            self._idle.append(inbox)
            return False, None

    def _serve(self, inbox: _Inbox) -> None:
        taken, job = self._take(inbox)
        if not taken:
            job = inbox.get()
        while job is not None:
            loop, future, context, work = job
            value, error = None, None
            try:
                value = context.run(work)
            except BaseException as exc:  # handed to the route, which raises it
                error = exc
            # idle (or holding the next job) before the route resumes: a request it makes next finds
            # this thread, not another one, waiting
            taken, following = self._take(inbox)
            try:
                loop.call_soon_threadsafe(_settle, future, value, error)
            except RuntimeError:  # the loop closed while the work ran: nobody waits for it any more
                log.debug("a use case finished after its event loop closed")
            # an idle thread keeps nothing of its last job alive (the route's result, its context)
            del job, loop, future, context, work, value, error
            job = following if taken else inbox.get()

    def shutdown(self, wait: bool = True) -> None:
        """Stop the threads once the work handed to them before this call is done."""
        for _ in self._threads:
            self._hand(None)
        if wait:
            for thread in self._threads:
                if thread is not threading.current_thread():
                    thread.join()
