"""Due actions on the real databases: leases keep two schedulers from running an action twice,
a crashed claim is taken over after its lease, failures back off, and nothing is lost on restart."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.domain.actions import ActionStatus, DueAction
from orchestrator.domain.clock import FrozenClock
from orchestrator.scheduler.actions import ActionRunner
from orchestrator.settings import Settings
from orchestrator.wiring import Services, build

T0 = datetime(2027, 3, 4, 9, 0, tzinfo=UTC)


def schedule(services: Services, n: int, *, kind: str = "probe", due: datetime = T0) -> list[str]:
    with services.uow() as uow:
        return [
            uow.actions.schedule(kind=kind, object_kind="test", object_id=f"obj-{i}", due_at=due, now=T0).id
            for i in range(n)
        ]


@pytest.fixture
def clock(services: Services) -> FrozenClock:
    frozen = FrozenClock(T0)
    services.clock = frozen
    return frozen


def test_two_schedulers_never_run_the_same_action_twice(
    services: Services, settings: Settings, clock: FrozenClock
) -> None:
    ids = schedule(services, 120)
    other = build(settings, clock=clock)
    runs: list[tuple[str, str]] = []
    lock = threading.Lock()

    def handler(worker: str):  # type: ignore[no-untyped-def]
        def run(_services: Services, action: DueAction) -> None:
            time.sleep(0.001)
            with lock:
                runs.append((action.id, worker))

        return run

    runners = [
        ActionRunner(services, {"probe": handler("a")}, worker="a", batch=7),
        ActionRunner(other, {"probe": handler("b")}, worker="b", batch=7),
    ]

    def drain(runner: ActionRunner) -> None:
        for _ in range(200):
            if runner.tick() == 0 and len(runs) >= len(ids):
                return

    threads = [threading.Thread(target=drain, args=(r,)) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    other.close()
    ran = [action_id for action_id, _ in runs]
    assert sorted(ran) == sorted(ids)  # every action exactly once
    assert {w for _, w in runs} <= {"a", "b"}
    with services.uow() as uow:
        assert all(uow.actions.get(i).status is ActionStatus.DONE for i in ids)  # type: ignore[union-attr]


def test_a_crashed_claim_is_taken_over_after_its_lease(services: Services, clock: FrozenClock) -> None:
    (action_id,) = schedule(services, 1)
    with services.uow() as uow:  # worker "dead" claims, then dies without finishing
        assert [
            a.id
            for a in uow.actions.claim_due(
                worker="dead", now=clock.now(), lease=timedelta(minutes=5), limit=10, kinds=["probe"]
            )
        ] == [action_id]
    done: list[str] = []
    runner = ActionRunner(services, {"probe": lambda _s, a: done.append(a.id)}, worker="alive")
    assert runner.tick() == 0  # the lease still holds
    clock.advance(timedelta(minutes=5, seconds=1))
    assert runner.tick() == 1
    assert done == [action_id]
    with services.uow() as uow:
        assert not uow.actions.complete(action_id, worker="dead", now=clock.now())  # too late
        action = uow.actions.get(action_id)
    assert action is not None
    assert action.status is ActionStatus.DONE
    assert action.attempts == 2


def test_failures_back_off_then_fail_with_the_reason(services: Services, clock: FrozenClock) -> None:
    with services.uow() as uow:
        action = uow.actions.schedule(
            kind="deploy", object_kind="instance", object_id="i-1", due_at=T0, now=T0, max_attempts=3
        )

    def broken(_services: Services, _action: DueAction) -> None:
        raise RuntimeError("range ee-range unreachable")

    runner = ActionRunner(services, {"deploy": broken}, worker="w")
    assert runner.tick() == 1
    assert runner.tick() == 0  # backing off
    for _ in range(2):
        clock.advance(timedelta(minutes=6))
        assert runner.tick() == 1
    with services.uow() as uow:
        final = uow.actions.get(action.id)
    assert final is not None
    assert final.status is ActionStatus.FAILED
    assert final.attempts == 3
    assert final.last_error == "RuntimeError: range ee-range unreachable"


def test_a_restart_loses_nothing_and_runs_missed_actions(services: Services, settings: Settings) -> None:
    clock = FrozenClock(T0)
    services.clock = clock
    ids = schedule(services, 3, kind="teardown", due=T0 + timedelta(hours=1))
    services.close()
    clock.advance(timedelta(days=2))  # the process was down when they fell due
    restarted = build(settings, clock=clock)
    seen: list[str] = []
    assert ActionRunner(restarted, {"teardown": lambda _s, a: seen.append(a.id)}).tick() == 3
    assert sorted(seen) == sorted(ids)
    restarted.close()


def test_only_handled_kinds_are_claimed_and_cancelled_ones_never(
    services: Services, clock: FrozenClock
) -> None:
    schedule(services, 2, kind="warn")
    (probe,) = schedule(services, 1, kind="probe")
    with services.uow() as uow:
        uow.actions.schedule(kind="probe", object_kind="exercise", object_id="ex-1", due_at=T0, now=T0)
        assert uow.actions.cancel_for(object_kind="exercise", object_id="ex-1") == 1
    seen: list[str] = []
    assert ActionRunner(services, {"probe": lambda _s, a: seen.append(a.id)}).tick() == 1
    assert seen == [probe]


@pytest.mark.parametrize("refill", [False, True])
def test_a_refilling_pool_keeps_its_workers_busy_without_waiting_for_a_tick(
    services: Services, clock: FrozenClock, refill: bool
) -> None:
    """One tick claims as many actions as there are workers; with `refill` (the scheduler process), a
    worker that finishes claims the next due action itself, so all of them run before any other tick."""
    ids = schedule(services, 9)
    done: list[str] = []
    lock = threading.Lock()

    def slow(_services: Services, action: DueAction) -> None:
        time.sleep(0.05)
        with lock:
            done.append(action.id)

    runner = ActionRunner(services, {"probe": slow}, worker="pool", parallel=3, refill=refill)
    try:
        assert runner.tick() == 3
        deadline = time.monotonic() + 30
        while len(done) < (9 if refill else 3) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)  # anything more would have run by now
        with lock:
            ran = sorted(done)
        if refill:
            assert ran == sorted(ids)  # all nine, from one tick
        else:
            assert len(ran) == 3 and set(ran) <= set(ids)  # one tick's worth; the rest waits for the next
    finally:
        runner.shutdown()
    with services.uow() as uow:
        finished = [i for i in ids if uow.actions.get(i).status is ActionStatus.DONE]  # type: ignore[union-attr]
    assert len(finished) == len(ran)
