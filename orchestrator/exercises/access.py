"""Access details: per team, how to reach its entry hosts and the credentials it is given.

Only the exercise owner's organisation reads them (not even admins of other organisations): they hold
live credentials of running instances. Credentials are the scenario variables marked `access: true`
(never flags), regenerated from the seed, so nothing secret is stored in the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from connectors.base import Endpoint
from orchestrator.catalogue.scenario_facts import ScenarioHandle
from orchestrator.domain.clock import Clock
from orchestrator.domain.errors import NotFound, Unauthenticated
from orchestrator.exercises.model import ExerciseKind, Instance, Stage
from orchestrator.exercises.ports import InstanceValues, UnitOfWork
from orchestrator.identity import audit, permissions, tokens
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
    return [_access(unit, i, handle, values=values) for i in unit.exercises.instances_of(exercise.id)]


def _access(
    unit: UnitOfWork, instance: Instance, handle: ScenarioHandle, *, values: InstanceValues
) -> TeamAccess:
    record = unit.catalogue.get_range(instance.range_id)
    live = instance.stage in (Stage.READY, Stage.PROVISIONING)
    return TeamAccess(
        team=instance.team,
        instance_id=instance.id,
        range_slug="" if record is None else record.slug,
        stage=instance.stage,
        endpoints=instance.endpoints if live else (),
        credentials=_handed_out(values(handle, instance.id), handed_out=handle.facts.handed_out)
        if live
        else {},
    )


@dataclass(frozen=True)
class TeamLink:
    """A team's link token as issued: shown once to the trainer, who hands it to the team."""

    team: str
    instance_id: str
    token: str


def issue_team_links(unit: UnitOfWork, actor: Principal, exercise_id: str, *, clock: Clock) -> list[TeamLink]:
    """A fresh link for every team of the exercise (earlier links stop working). Whoever may read the
    exercise's access details may hand them to its teams, one team each."""
    exercise = unit.exercises.get_exercise(exercise_id)
    if exercise is None or actor.organisation_id != exercise.owner_organisation_id:
        raise NotFound(
            f"exercise '{exercise_id}' does not exist or belongs to another organisation "
            "(team links are only for the organisation that runs it)"
        )
    permissions.require(actor, Action.ACCESS_READ, owner=exercise.owner_organisation_id)
    links = []
    at = clock.now()
    for instance in unit.exercises.instances_of(exercise.id):
        token = tokens.generate_token(tokens.TEAM_LINK_PREFIX)
        unit.exercises.replace_team_link(
            instance_id=instance.id, digest=token.digest, prefix=token.prefix, created_by=actor.id, at=at
        )
        links.append(TeamLink(team=instance.team, instance_id=instance.id, token=token.plaintext))
    audit.record(
        unit.catalogue,
        clock,
        actor,
        "exercise.team-links",
        kind="exercise",
        object_id=exercise.id,
        organisation_id=exercise.owner_organisation_id,
        after={"teams": [link.team for link in links]},
    )
    return links


def access_by_team_link(unit: UnitOfWork, token: str, *, values: InstanceValues) -> TeamAccess:
    """The access details of the one team whose link this is (nothing of the other teams)."""
    instance = (
        unit.exercises.instance_for_team_link(tokens.digest(token))
        if tokens.TEAM_LINK_RE.fullmatch(token)
        else None
    )
    if instance is None:
        raise Unauthenticated("unknown or replaced team link: ask your trainer for the current one")
    exercise = unit.exercises.get_exercise(instance.exercise_id)
    if exercise is None:
        raise Unauthenticated("unknown or replaced team link: ask your trainer for the current one")
    return _access(unit, instance, unit.scenarios.pinned(exercise.scenario), values=values)


def _handed_out(values: Mapping[str, str], *, handed_out: Sequence[str]) -> dict[str, str]:
    names = handed_out
    return {name: values[name] for name in names if name in values}
