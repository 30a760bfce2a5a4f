"""The reconciler: compare what the database says runs on each range with what the range reports.

- an instance the database holds as ready, whose window is still open, but that the range no longer
  has, is redeployed (drift: someone deleted it, the node died);
- a range that cannot list its instances (a peer that went down, a partition, an engine that does not
  answer) turns its ready instances `unknown`, with the range's reason ("peer lv-hub unreachable:
  ..."); once it answers again they are ready again if it has them ready, redeployed if it reports
  them failed or no longer has them;
- an instance the range holds that belongs to one of this orchestrator's exercises but that the
  database holds as done (or does not know) is an orphan and is torn down. An instance the database
  places on another range is left to that range (ranges may share an engine).

Instances of exercises this database does not know are left alone: another orchestrator may share the
range. Instances in the middle of a stage (deploying, provisioning, tearing down) are left to the
action that owns them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime

from connectors.base import ConnectorError, ConnectorRefusal, InstanceRecord, Phase
from orchestrator.domain.ranges import RangeStatus
from orchestrator.exercises import schedule
from orchestrator.exercises.events import note
from orchestrator.exercises.lifecycle import Runtime
from orchestrator.exercises.model import ExerciseKind, ExerciseStatus, Stage
from orchestrator.exercises.ports import UnitOfWork
from orchestrator.exercises.stages import enter, locked_instance, log_lines, stamp

log = logging.getLogger(__name__)


@dataclass
class Drift:
    redeployed: list[str] = field(default_factory=list)
    orphans_removed: list[str] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)  # instances whose range could not tell
    answered: list[str] = field(default_factory=list)  # unknown instances ready again


def reconcile(rt: Runtime) -> Drift:
    drift = Drift()
    with rt.transactions() as unit:
        records = [
            r
            for r in unit.catalogue.list_ranges(country=None, capability=None, status=None)
            if r.status is not RangeStatus.DECOMMISSIONED
        ]
    for record in records:
        try:
            listed = list(rt.connectors(record).list_instances())
        except (ConnectorError, ConnectorRefusal) as exc:
            drift.unreachable[record.slug] = exc.reason
            _mark_unknown(rt, record.id, exc.reason, drift)
            continue
        except Exception as exc:  # a broken driver must not stop reconciling the other ranges
            log.warning("listing instances on %s failed: %s", record.slug, exc)
            drift.unreachable[record.slug] = str(exc)
            _mark_unknown(rt, record.id, str(exc), drift)
            continue
        orphans = _repair_range(rt, record.id, listed, drift)
        for orphan in orphans:
            try:
                rt.connectors(record).teardown(instance_id=orphan.instance_id)
            except (ConnectorError, ConnectorRefusal) as exc:
                log.warning(
                    "removing orphan %s from %s failed: %s", orphan.instance_id, record.slug, exc.reason
                )
                continue
            drift.orphans_removed.append(orphan.instance_id)
            with rt.transactions() as unit:
                if unit.exercises.get_exercise(orphan.exercise) is not None:
                    note(
                        unit,
                        rt.clock,
                        orphan.exercise,
                        f"removed orphaned instance {orphan.instance_id} (team "
                        f"{orphan.team}) from range {record.slug}",
                        level="warning",
                    )
    return drift


def _mark_unknown(rt: Runtime, range_id: str, reason: str, drift: Drift) -> None:
    """The range cannot tell how its instances are: every ready one is `unknown`, with the reason (the
    stage record says since when; a changed reason is written, an unchanged one left as it is)."""
    now = rt.clock.now()
    with rt.transactions() as unit:
        for instance in unit.exercises.instances_on(range_id, stages=[Stage.READY, Stage.UNKNOWN]):
            if instance.stage is Stage.UNKNOWN and instance.stage_reason == reason:
                continue
            exercise = unit.exercises.get_exercise(instance.exercise_id, placement=False)
            if exercise is None or exercise.kind is ExerciseKind.POOL:
                continue  # a pool's instance is simply not claimed while it is not ready
            locked = locked_instance(unit, instance.id)
            if locked is None or locked.stage not in (Stage.READY, Stage.UNKNOWN):
                continue
            if locked.stage is Stage.UNKNOWN:
                unit.exercises.save_instance(replace(locked, stage_reason=reason, updated_at=now))
                continue
            moved = enter(unit, locked, Stage.UNKNOWN, now=now, reason=reason)
            log_lines(unit, moved.id, [stamp(rt.clock, f"unknown: {reason}")])
            note(unit, rt.clock, exercise.id, f"team {instance.team}: unknown: {reason}", level="warning")
            drift.unknown.append(instance.id)


def _repair_range(
    rt: Runtime, range_id: str, listed: list[InstanceRecord], drift: Drift
) -> list[InstanceRecord]:
    """Redeploy what went missing, and what was unknown and its range now reports failed; make ready
    again what was unknown and is still there (in one transaction); return the orphans to remove."""
    now = rt.clock.now()
    listed_ids = {r.instance_id for r in listed}
    phases = {r.instance_id: r.phase for r in listed}
    with rt.transactions() as unit:
        for instance in unit.exercises.instances_on(range_id, stages=[Stage.READY, Stage.UNKNOWN]):
            phase = phases.get(instance.id)
            if phase is not None and not (instance.stage is Stage.UNKNOWN and phase is Phase.FAILED):
                if instance.stage is Stage.UNKNOWN:
                    _answered(rt, unit, instance.id, phase, drift, now=now)
                continue
            what = "no longer has this instance" if phase is None else "reports this instance failed"
            exercise = unit.exercises.get_exercise(instance.exercise_id)
            if exercise is None or exercise.status not in (ExerciseStatus.RUNNING, ExerciseStatus.DEPLOYING):
                continue
            if now >= exercise.end:
                continue
            locked = locked_instance(unit, instance.id)
            if locked is None or locked.stage not in (Stage.READY, Stage.UNKNOWN):
                continue
            reason = (
                "missing on its range: redeploying" if phase is None else "failed on its range: redeploying"
            )
            moved = enter(unit, locked, Stage.DEPLOYING, now=now, reason=reason)
            log_lines(unit, moved.id, [stamp(rt.clock, f"the range {what}: redeploying")])
            schedule.schedule_deploy(unit.actions, moved, at=now, now=now)
            vanished = "instance vanished from its range" if phase is None else f"its range {what}"
            note(
                unit, rt.clock, exercise.id, f"team {instance.team}: {vanished}; redeploying", level="warning"
            )
            drift.redeployed.append(instance.id)
        known = {
            i: unit.exercises.get_instance(i) for i in unit.exercises.known_instance_ids(sorted(listed_ids))
        }
        ours = {
            r.exercise for r in listed if r.exercise and unit.exercises.get_exercise(r.exercise) is not None
        }
    orphans = []
    for record in listed:
        held = known.get(record.instance_id)
        if held is None:
            if record.exercise in ours:
                orphans.append(record)
        elif held.stage is Stage.DONE:
            orphans.append(record)
        # An instance the database places on another range is that range's business: two ranges may
        # share one engine (a Docker host registered twice), so their listings overlap.
    return orphans


def _answered(
    rt: Runtime, unit: UnitOfWork, instance_id: str, phase: Phase, drift: Drift, *, now: datetime
) -> None:
    """An unknown instance its range lists again takes what the range says of it: ready again (since
    when it first was), or still unknown while the range says it is on its way (pending, terminating).
    (One it reports failed is redeployed, like one it no longer has.)"""
    locked = locked_instance(unit, instance_id)
    if locked is None or locked.stage is not Stage.UNKNOWN:
        return
    if phase is Phase.READY:
        moved = enter(unit, locked, Stage.READY, now=now)
        unit.exercises.save_instance(replace(moved, ready_at=locked.ready_at or now))
        log_lines(unit, instance_id, [stamp(rt.clock, "its range answers again: ready")])
        note(unit, rt.clock, locked.exercise_id, f"team {locked.team}: its range answers again; ready")
        drift.answered.append(instance_id)
        return
    reason = f"its range answers again and reports it {phase.value}"
    if locked.stage_reason != reason:
        unit.exercises.save_instance(replace(locked, stage_reason=reason, updated_at=now))
