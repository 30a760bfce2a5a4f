"""The only place that imports APScheduler: it drives short, idempotent ticks.

The schedule itself lives in the database (due actions claimed with leases), so ticks may run in several
processes at once and a restart loses nothing: on start every tick runs once at once (missed actions,
teardowns included, run then), then at its interval. A tick that raises is logged and runs again.

Due actions written for now do not wait for the due-actions tick: the wake loop claims them as soon as
the process's `Wakeups` ring (in-process after a commit, or a PostgreSQL NOTIFY from any process); the
tick stays as the safety net.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from orchestrator.db.notifications import ACTIONS_CHANNEL, Listener
from orchestrator.scheduler import ticks as default
from orchestrator.scheduler.actions import ActionRunner
from orchestrator.scheduler.ticks import Tick
from orchestrator.wiring import Services

log = logging.getLogger(__name__)


class SchedulerRunner:
    def __init__(self, services: Services, ticks: Sequence[Tick] | None = None) -> None:
        self.services = services
        self.actions: ActionRunner | None = None
        if ticks is None:
            self.actions = default.action_runner(services, refill=True)
            self.ticks = default.all_ticks(services, self.actions)
        else:
            self.ticks = list(ticks)
        self._scheduler = BackgroundScheduler(timezone="UTC")
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listener: Listener | None = None

    def _guarded(self, tick: Tick) -> Callable[[], None]:
        def run() -> None:
            try:
                tick.run(self.services)
            except Exception:
                log.exception("scheduler tick %s failed; it runs again at its next interval", tick.name)

        return run

    def start(self) -> None:
        for tick in self.ticks:
            self._scheduler.add_job(
                self._guarded(tick),
                "interval",
                seconds=tick.every_seconds,
                id=tick.name,
                max_instances=1,
                coalesce=True,
                next_run_time=datetime.now(UTC),
            )
            log.info("scheduler tick %s every %.1fs", tick.name, tick.every_seconds)
        self._scheduler.start()
        if self.actions is not None:
            wake = threading.Thread(target=self._wake_loop, name="due-action-wakeups", daemon=True)
            wake.start()
            self._threads.append(wake)
            # a (re)connected listener rings too: anything written while it was not listening
            wakeups = self.services.wakeups
            self._listener = Listener(
                self.services.engine,
                channel=ACTIONS_CHANNEL,
                on_notice=wakeups.ring,
                on_state=lambda listening: wakeups.ring() if listening else None,
            )
            self._listener.start()

    def _wake_loop(self) -> None:
        """Claim due actions whenever a wake-up rings (bounded waits, so a stop is seen within a second)."""
        runner = self.actions
        assert runner is not None
        while not self._stop.is_set():
            if not self.services.wakeups.wait(1.0) or self._stop.is_set():
                continue
            try:
                runner.tick()
            except Exception:
                log.exception("claiming due actions on a wake-up failed; the tick claims them later")

    def shutdown(self, *, grace: float | None = None) -> list[str]:
        """Stop every tick, then the actions (see ActionRunner.shutdown); returns the actions released
        to other schedulers because they were still running after `grace` seconds."""
        self._stop.set()
        if self._listener is not None:
            self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._scheduler.running:
            self._scheduler.shutdown(wait=grace is None)
        if self.actions is not None:
            return self.actions.shutdown(grace=grace)
        return []
