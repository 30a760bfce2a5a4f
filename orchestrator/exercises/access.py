"""Access details: per team, how to reach its entry hosts and the credentials it is given.

Only the exercise owner's organisation reads them (not even admins of other organisations): they hold
live credentials of running instances. Credentials are the scenario variables marked `access: true`
(never flags), regenerated from the seed, so nothing secret is stored in the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from connectors.base import Endpoint
from orchestrator.domain.errors import NotFound
from orchestrator.exercises.model import ExerciseKind, Stage
from orchestrator.exercises.ports import InstanceValues, UnitOfWork
from orchestrator.identity import permissions
from orchestrator.identity.permissions import Action
from orchestrator.identity.principals import Principal


@dataclass(frozen=True, kw_only=True)
class TeamAccess:
    team: str
    instance_id: str
    range_slug: str
    stage: Stage
    endpoints: tuple[Endpoint, ...]
    credentials: dict[str, str]


def team_access(
    unit: UnitOfWork, actor: Principal, exercise_id: str, *, values: InstanceValues
) -> list[TeamAccess]:
    exercise = unit.exercises.get_exercise(exercise_id)
    # A pool's instances hand nothing out: their values are for whoever claims them.
    if (
        exercise is None
        or exercise.kind is ExerciseKind.POOL
        or actor.organisation_id != exercise.owner_organisation_id
    ):
        raise NotFound(
            f"exercise '{exercise_id}' does not exist or belongs to another organisation "
            "(access details are only for the organisation that runs it)"
        )
    permissions.require(actor, Action.ACCESS_READ, owner=exercise.owner_organisation_id)
    handle = unit.scenarios.pinned(exercise.scenario)
    handed_out = handle.facts.handed_out
    out = []
    for instance in unit.exercises.instances_of(exercise.id):
        record = unit.catalogue.get_range(instance.range_id)
        live = instance.stage in (Stage.READY, Stage.PROVISIONING)
        out.append(
            TeamAccess(
                team=instance.team,
                instance_id=instance.id,
                range_slug="" if record is None else record.slug,
                stage=instance.stage,
                endpoints=instance.endpoints if live else (),
                credentials=_handed_out(values(handle, instance.id), handed_out) if live else {},
            )
        )
    return out


def _handed_out(values: Mapping[str, str], names: Sequence[str]) -> dict[str, str]:
    return {name: values[name] for name in names if name in values}
