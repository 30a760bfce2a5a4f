"""Due-action kinds -> the lifecycle handlers that carry them out."""

from __future__ import annotations

from collections.abc import Callable

from orchestrator.domain.actions import DueAction
from orchestrator.exercises import lifecycle, pools, schedule
from orchestrator.federation import hub
from orchestrator.scheduler.actions import Handler
from orchestrator.wiring import Services


def _instance(run: Callable[[lifecycle.Runtime, str, bool], None]) -> Handler:
    def handle(services: Services, action: DueAction) -> None:
        run(services.runtime(), action.object_id, action.attempts >= action.max_attempts)

    return handle


def _exercise(run: Callable[[lifecycle.Runtime, str], None]) -> Handler:
    def handle(services: Services, action: DueAction) -> None:
        run(services.runtime(), action.object_id)

    return handle


def lifecycle_handlers() -> dict[str, Handler]:
    return {
        schedule.DEPLOY: _instance(lambda rt, i, final: lifecycle.deploy(rt, i, final_attempt=final)),
        schedule.PROVISION: _instance(
            lambda rt, i, final: lifecycle.deploy(rt, i, final_attempt=final, provision_only=True)
        ),
        schedule.TEARDOWN_INSTANCE: _instance(lambda rt, i, _final: lifecycle.teardown_instance(rt, i)),
        schedule.TEARDOWN: _exercise(lifecycle.teardown_exercise),
        schedule.WARN: _exercise(lifecycle.warn_end),
        schedule.READY_DEADLINE: _exercise(lifecycle.ready_deadline),
        schedule.REFILL_POOL: _exercise(pools.refill_pool),
    }


def federation_handlers() -> dict[str, Handler]:
    """The two-phase booking's persisted steps (orchestrator.federation.hub)."""

    def confirm(services: Services, action: DueAction) -> None:
        services.hub.confirm(action.object_id)

    def abort(services: Services, action: DueAction) -> None:
        services.hub.abort(action.object_id)

    return {hub.CONFIRM: confirm, hub.ABORT: abort}
