"""One scheduler process of the scale-out test: `python -m tests.integration.scheduler.probe_scheduler
DIR NAME` builds its services from FEDERANGE_* (its own connections to the shared database), says it is
ready (DIR/NAME.ready), waits for DIR/go, then claims and runs `probe` due actions with the production
ActionRunner (4 threads, refilling, short lease) until none is left, appending each action id it ran to
DIR/NAME.ran. Bounded: it gives up after 120 s."""

from __future__ import annotations

import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from orchestrator.db.tables import DueActionRow
from orchestrator.domain.actions import ActionStatus, DueAction
from orchestrator.scheduler.actions import ActionRunner
from orchestrator.settings import Settings
from orchestrator.wiring import Services, build


def pending(services: Services) -> int:
    with services.uow() as uow:
        count = uow.session.scalar(
            select(func.count()).where(DueActionRow.status == ActionStatus.PENDING.value)
        )
        return int(count or 0)


def main(directory: Path, name: str) -> None:
    services = build(Settings())
    ran = (directory / f"{name}.ran").open("a", encoding="utf-8")
    lock = threading.Lock()

    def handler(_services: Services, action: DueAction) -> None:
        time.sleep(0.02)  # long enough that the two processes work side by side
        with lock:
            ran.write(f"{action.id}\n")
            ran.flush()

    runner = ActionRunner(
        services, {"probe": handler}, worker=name, parallel=4, refill=True, lease=timedelta(seconds=5)
    )
    (directory / f"{name}.ready").touch()
    deadline = time.monotonic() + 120
    while not (directory / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    while time.monotonic() < deadline:
        runner.tick()
        if pending(services) == 0:
            break
        time.sleep(0.02)
    runner.shutdown()
    ran.close()
    services.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
