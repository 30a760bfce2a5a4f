"""Runs due actions: claim with a lease in one short transaction, run the handlers, record the outcome.

Handlers are registered by action kind; a process only claims the kinds it has handlers for. Claimed
actions run in a bounded thread pool (a deploy waits minutes for readiness; teams deploy side by side)
and a heartbeat keeps extending their leases while they run, so a lease can be short: when a process
dies, its actions are claimed again soon after. On start-up, claims held by dead processes of this host
are released at once. A handler runs outside the claim's transaction and must be idempotent. Failures
are retried with exponential backoff up to the action's max_attempts.

With `refill` (the scheduler process), a pool thread that finishes an action claims the next due ones
at once instead of leaving its slot idle until the next tick: 128 teams' deploys then keep all workers
busy rather than going `parallel` per tick interval.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import timedelta

from orchestrator.domain.actions import DueAction
from orchestrator.wiring import Services, logs, metrics

log = logging.getLogger(__name__)

Handler = Callable[[Services, DueAction], None]
_NAMED = frozenset({"exercise", "instance", "range", "booking"})  # object kinds whose ids the logs carry


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ActionRunner:
    def __init__(
        self,
        services: Services,
        handlers: Mapping[str, Handler],
        *,
        worker: str | None = None,
        lease: timedelta = timedelta(seconds=60),
        batch: int = 20,
        parallel: int = 1,
        refill: bool = False,
    ) -> None:
        self.services = services
        self.handlers = dict(handlers)
        self.worker = worker or worker_name()
        self.lease = lease
        self.batch = batch
        self.parallel = parallel
        self.refill = refill and parallel > 1
        self._stopping = False
        self._pool = (
            ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="action") if parallel > 1 else None
        )
        self._running: dict[str, Future[None]] = {}
        self._lock = threading.Lock()

    def release_dead_local_claims(self) -> int:
        """Release the claims of processes of this host that no longer exist (a restart after a crash)."""
        host = socket.gethostname()
        with self.services.uow() as uow:
            dead = []
            for claimant in uow.actions.claimants(prefix=f"{host}:"):
                parts = claimant.split(":")
                if len(parts) >= 2 and parts[1].isdigit() and claimant != self.worker:
                    pid = int(parts[1])
                    if pid != os.getpid() and not _pid_alive(pid):
                        dead.append(claimant)
            released = uow.actions.release_claims(dead)
        if released:
            log.info("released %d action(s) claimed by dead local workers %s", released, ", ".join(dead))
        return released

    def heartbeat(self) -> int:
        """Extend the leases of the actions this worker is running."""
        with self._lock:
            ids = [i for i, f in self._running.items() if not f.done()]
        if not ids:
            return 0
        with self.services.uow() as uow:
            return uow.actions.extend_lease(
                ids, worker=self.worker, until=self.services.clock.now() + self.lease
            )

    def tick(self) -> int:
        """Claim every action due now that this worker can take and run it (in the pool when parallel);
        returns how many it claimed."""
        if not self.handlers or self._stopping:
            return 0
        with self._lock:
            self._running = {i: f for i, f in self._running.items() if not f.done()}
            room = self.batch if self._pool is None else max(self.parallel - len(self._running), 0)
        if room == 0:
            return 0
        clock = self.services.clock
        with self.services.uow() as uow:
            claimed = uow.actions.claim_due(
                worker=self.worker, now=clock.now(), lease=self.lease, limit=room, kinds=list(self.handlers)
            )
        for action in claimed:
            if self._pool is None:
                self._run(action)
            else:
                with self._lock:
                    self._running[action.id] = self._pool.submit(self._run, action)
        return len(claimed)

    def drain(self, timeout: float | None = None) -> None:
        """Wait for the actions running in the pool (tests, shutdown)."""
        with self._lock:
            futures = list(self._running.values())
        for future in futures:
            future.result(timeout=timeout)

    def shutdown(self, *, grace: float | None = None) -> list[str]:
        """Stop claiming; wait for the running actions (at most `grace` seconds when given), then release
        the claims of those still running so that another scheduler takes them over at once, without
        waiting for their leases to lapse. Returns the ids released (their handlers may still be running
        in this process, which should then exit: handlers are idempotent, the next claimant redoes them)."""
        self._stopping = True
        with self._lock:
            running = dict(self._running)
        if grace is None or self._pool is None:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=False)
            return []
        wait(list(running.values()), timeout=grace)
        unfinished = sorted(i for i, f in running.items() if not f.done())
        self._pool.shutdown(wait=False, cancel_futures=True)
        if unfinished:
            with self.services.uow() as uow:
                uow.actions.release_claims([self.worker], refund=True)
            log.warning(
                "stopping with %d action(s) still running after %.0fs; released them for another "
                "scheduler: %s",
                len(unfinished),
                grace,
                ", ".join(unfinished),
            )
        return unfinished

    @property
    def stopping(self) -> bool:
        return self._stopping

    def _run(self, action: DueAction) -> None:
        self._execute(action)
        if self.refill and not self._stopping:
            with self._lock:
                self._running.pop(action.id, None)  # this slot is free for what is due next
            try:
                self.tick()
            except Exception:  # the periodic tick claims it later; never lose the worker thread over it
                log.exception("claiming the next due actions after %s failed", action.id)

    def _execute(self, action: DueAction) -> None:
        ids = {f"{action.object_kind}_id": action.object_id} if action.object_kind in _NAMED else {}
        with logs.action_context(action_id=action.id, action_kind=action.kind, **ids):
            self._execute_named(action)

    def _execute_named(self, action: DueAction) -> None:
        clock = self.services.clock
        metrics.DUE_ACTION_LAG.labels(action.kind).observe(
            max((clock.now() - action.due_at).total_seconds(), 0.0)
        )
        try:
            self.handlers[action.kind](self.services, action)
        except Exception as exc:
            retry = timedelta(seconds=min(2 ** max(action.attempts, 1), 300))
            reason = f"{type(exc).__name__}: {exc}"
            final = action.attempts >= action.max_attempts
            metrics.DUE_ACTIONS.labels(action.kind, "failed" if final else "retry").inc()
            if not final:
                metrics.CONNECTOR_RETRIES.labels(action.kind).inc()
            log.warning(
                "action %s %s on %s failed (attempt %d): %s",
                action.id,
                action.kind,
                action.object_id,
                action.attempts,
                reason,
            )
            with self.services.uow() as uow:
                uow.actions.fail(action.id, worker=self.worker, now=clock.now(), error=reason, retry_in=retry)
            return
        metrics.DUE_ACTIONS.labels(action.kind, "done").inc()
        with self.services.uow() as uow:
            if not uow.actions.complete(action.id, worker=self.worker, now=clock.now()):
                log.warning("action %s finished after its lease passed to another worker", action.id)
