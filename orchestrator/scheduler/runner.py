"""The only place that imports APScheduler: it drives short, idempotent ticks.

The schedule itself lives in the database (due actions claimed with leases), so ticks may run in several
processes at once and a restart loses nothing: on start every tick runs once at once (missed actions,
teardowns included, run then), then at its interval. A tick that raises is logged and runs again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

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

    def shutdown(self, *, grace: float | None = None) -> list[str]:
        """Stop every tick, then the actions (see ActionRunner.shutdown); returns the actions released
        to other schedulers because they were still running after `grace` seconds."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=grace is None)
        if self.actions is not None:
            return self.actions.shutdown(grace=grace)
        return []
