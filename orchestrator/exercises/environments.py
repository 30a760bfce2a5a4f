"""Researcher environments: one instance of a scenario, placed and deployed now, living for a TTL.

An environment is an exercise of kind `environment` with a single team (the researcher), no deploy lead
and a window [now, now + TTL); renewing moves its end (the bookings follow, within the ranges' sharing
policies: a range's maximum booking length bounds how far an environment can be renewed there).
Fair share caps both: a launch or a renewal runs at most `max_ttl` ahead of now, and an environment lives
at most `max_lifetime` in all (`EnvironmentLimits`, from the instance's settings).
A launch claims a ready instance from a warm pool of its scenario when one has it (exercises.pools).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from orchestrator.domain.clock import Clock
from orchestrator.domain.errors import Conflict, FieldProblem, InvalidInput
from orchestrator.exercises import pools
from orchestrator.exercises.model import Exercise, ExerciseDraft, ExerciseKind
from orchestrator.exercises.service import Detail, ExerciseService
from orchestrator.identity.principals import Principal
from orchestrator.placement.request import DEFAULT_STRATEGY, Constraints, Team


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


@dataclass(frozen=True, slots=True)
class EnvironmentLimits:
    """How far ahead of now an environment may run (per launch or renewal), and how long it may live."""

    max_ttl: timedelta = timedelta(hours=8)
    max_lifetime: timedelta = timedelta(days=7)


class EnvironmentService:
    def __init__(
        self, *, exercises: ExerciseService, clock: Clock, limits: EnvironmentLimits | None = None
    ) -> None:
        self.exercises = exercises
        self.clock = clock
        self.limits = limits or EnvironmentLimits()

    def launch(
        self,
        actor: Principal,
        *,
        scenario: str,
        ttl: timedelta,
        name: str = "",
        constraints: Constraints | None = None,
        strategy: str = DEFAULT_STRATEGY,
    ) -> Detail:
        if ttl <= timedelta(0):
            raise InvalidInput(FieldProblem("ttl_minutes", "must be positive"))
        if ttl > self.limits.max_ttl:
            raise InvalidInput(
                FieldProblem(
                    "ttl_minutes",
                    f"at most {_minutes(self.limits.max_ttl)} minutes at once (this federation's environment "
                    "TTL cap); renew to go on",
                )
            )
        now = self.clock.now()
        draft = ExerciseDraft(
            name=name or f"{scenario} for {actor.name}",
            scenario=scenario,
            teams=(
                Team(name=actor.name, organisation=actor.organisation_id, country=actor.organisation_country),
            ),
            start=now,
            end=now + ttl,
            lead=timedelta(0),
            warn_before_end=min(timedelta(minutes=10), ttl / 4),
            constraints=constraints or Constraints(),
            strategy=strategy,
            kind=ExerciseKind.ENVIRONMENT,
        )
        self.exercises.require_creator(actor, draft.kind)
        self.exercises.validate(draft)
        handle = self.exercises.unit.scenarios.resolve(actor, draft.scenario)  # once, for either way
        return pools.claim(self.exercises, actor, draft, handle) or self.exercises.create(
            actor, draft, scenario=handle
        )

    def _environment(self, actor: Principal, environment_id: str) -> Exercise:
        exercise = self.exercises.get(actor, environment_id).exercise
        if exercise.kind is not ExerciseKind.ENVIRONMENT:
            raise Conflict(f"'{environment_id}' is an exercise, not an environment")
        return exercise

    def renew(self, actor: Principal, environment_id: str, *, extra: timedelta) -> Exercise:
        """Push the end out by `extra` (from the current end)."""
        if extra <= timedelta(0):
            raise InvalidInput(FieldProblem("minutes", "must be positive"))
        exercise = self._environment(actor, environment_id)
        end = exercise.end + extra
        now = self.clock.now()
        if end - now > self.limits.max_ttl:
            room = max(0, _minutes(now + self.limits.max_ttl - exercise.end))
            raise InvalidInput(
                FieldProblem(
                    "minutes",
                    f"an environment runs at most {_minutes(self.limits.max_ttl)} minutes ahead of now (this "
                    f"federation's environment TTL cap): at most {room} more minutes now",
                )
            )
        if end - exercise.start > self.limits.max_lifetime:
            room = max(0, _minutes(exercise.start + self.limits.max_lifetime - exercise.end))
            raise InvalidInput(
                FieldProblem(
                    "minutes",
                    f"an environment lives at most {_minutes(self.limits.max_lifetime)} minutes in all (this "
                    f"federation's cap): at most {room} more minutes",
                )
            )
        return self.exercises.extend(actor, environment_id, end=end)

    def destroy(self, actor: Principal, environment_id: str) -> Exercise:
        self._environment(actor, environment_id)
        return self.exercises.cancel(actor, environment_id)

    def list(self, actor: Principal, *, active_only: bool = True) -> list[Exercise]:
        return self.exercises.list(actor, kind=ExerciseKind.ENVIRONMENT, active_only=active_only)
