"""`api.deps.in_thread`: a route's use case runs in the services' own threads, in the caller's context."""

from __future__ import annotations

import asyncio
import threading
from contextvars import ContextVar
from types import SimpleNamespace
from typing import Any, cast

import pytest

from orchestrator.api.deps import in_thread
from orchestrator.settings import Settings
from orchestrator.wiring import Services

field: ContextVar[str] = ContextVar("field", default="unset")


def services(threads: int) -> Services:
    """Only what `in_thread` reads of the object graph: its settings and the executor built from them."""
    fake = SimpleNamespace(settings=Settings(use_case_threads=threads), _closing=[])
    fake.use_case_threads = Services.use_case_threads.func(cast(Any, fake))  # the real property's body
    return cast(Services, fake)


def test_the_work_runs_off_the_loop_in_the_callers_context_and_returns_its_value() -> None:
    graph = services(2)

    async def route() -> tuple[str, str, int]:
        field.set("request-7")
        loop_thread = threading.get_ident()

        def work() -> tuple[str, str, int]:
            return field.get(), threading.current_thread().name, threading.get_ident() - loop_thread

        return await in_thread(graph, work)

    try:
        seen, name, offset = asyncio.run(route())
    finally:
        graph.use_case_threads.shutdown()
    assert seen == "request-7"
    assert name.startswith("federange-use-case")
    assert offset != 0


def test_an_error_of_the_work_reaches_the_route() -> None:
    graph = services(1)

    def work() -> None:
        raise LookupError("no such booking")

    with pytest.raises(LookupError, match="no such booking"):
        asyncio.run(in_thread(graph, work))
    graph.use_case_threads.shutdown()


def test_at_most_the_configured_number_of_use_cases_run_at_once() -> None:
    graph = services(3)
    together = threading.Barrier(3, timeout=30)  # passes only when three run at once (a safety timeout)
    running = peak = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        together.wait()
        with lock:
            running -= 1

    async def burst() -> None:
        await asyncio.gather(*(in_thread(graph, work) for _ in range(9)))

    try:
        asyncio.run(burst())
    finally:
        graph.use_case_threads.shutdown()
    assert peak == 3


def test_work_whose_caller_went_away_runs_to_its_end_and_the_threads_go_on() -> None:
    graph = services(1)
    started, finish, finished = threading.Event(), threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        finish.wait(30)
        finished.set()
        return "late"

    async def cancelled_then_next() -> str:
        caller = asyncio.ensure_future(in_thread(graph, slow))
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 30)
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        finish.set()
        return await in_thread(graph, lambda: "next")  # the same (only) thread, once `slow` is done

    try:
        assert asyncio.run(cancelled_then_next()) == "next"
    finally:
        graph.use_case_threads.shutdown()
    assert finished.is_set()


def test_work_that_outlives_its_event_loop_leaves_the_threads_serving() -> None:
    graph = services(1)
    release = threading.Event()

    async def leave_early() -> None:
        pending = asyncio.ensure_future(in_thread(graph, lambda: release.wait(30)))
        await asyncio.sleep(0.05)  # the work is running; the loop closes under it
        assert not pending.done()

    try:
        asyncio.run(leave_early())
        release.set()
        assert asyncio.run(asyncio.wait_for(in_thread(graph, lambda: 42), timeout=10)) == 42
    finally:
        graph.use_case_threads.shutdown()


def test_one_use_case_at_a_time_runs_on_the_same_thread() -> None:
    # the thread idle the shortest takes the next job (its caches warm); a queue every thread waits on
    # would hand them out in turn
    graph = services(4)

    async def one_after_another() -> tuple[set[str], set[int]]:
        names, idle = set(), set()
        for _ in range(200):
            names.add(await in_thread(graph, lambda: threading.current_thread().name))
            # the thread went idle before handing the result back, so the next request finds it waiting
            idle.add(len(graph.use_case_threads._idle))
        return names, idle

    try:
        names, idle = asyncio.run(one_after_another())
    finally:
        graph.use_case_threads.shutdown()
    assert len(names) == 1
    assert idle == {4}


def test_work_waiting_for_a_busy_thread_runs_in_order_and_shutdown_lets_it_finish() -> None:
    graph = services(1)
    release = threading.Event()
    done: list[int] = []

    async def queued() -> None:
        first = asyncio.ensure_future(in_thread(graph, lambda: release.wait(30)))
        await asyncio.sleep(0.05)  # the one thread is busy: the next ones wait in the backlog
        rest = [asyncio.ensure_future(in_thread(graph, lambda i=i: done.append(i))) for i in range(5)]
        await asyncio.sleep(0.05)
        release.set()
        await asyncio.gather(first, *rest)

    asyncio.run(queued())
    graph.use_case_threads.shutdown()
    assert done == [0, 1, 2, 3, 4]
    assert not any(t.is_alive() for t in graph.use_case_threads._threads)
