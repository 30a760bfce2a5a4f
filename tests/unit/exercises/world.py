"""A small federation in memory for the lifecycle's unit tests: two training organisations, two national
ranges on the fake connector, the library's ctf-starter, a frozen clock and a driver that runs due actions
the way the scheduler would (handler by kind, retry on RetryLater)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors import fake
from connectors.ansible.provisioner import AnsibleProvisioner
from connectors.base import Connector, ConnectorError, Resources
from orchestrator.catalogue.scenario_facts import ScenarioHandle
from orchestrator.catalogue.scenario_service import digest
from orchestrator.domain.catalogue import ConnectorSettings, Organisation, RangeRecord
from orchestrator.domain.clock import FrozenClock
from orchestrator.domain.ranges import OrganisationKind, RangeStatus, SharingPolicy
from orchestrator.exercises import lifecycle, pools, schedule
from orchestrator.exercises.memory import MemoryWorld
from orchestrator.exercises.model import ExerciseDraft, Instance
from orchestrator.exercises.service import Detail, ExerciseService
from orchestrator.identity.principals import Principal, Role
from orchestrator.placement.plugins import default_plugins
from orchestrator.placement.request import Team
from orchestrator.wiring.scenario_facts import instance_values, scenario_facts
from scenarios import library

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
SEED = b"unit-test-seed-0123456789abcdef"
PLUGINS = default_plugins()
#: The driver's backoff before a failed action runs again (the scheduler's grows; one step is enough here).
RETRY_AFTER = timedelta(seconds=30)


def library_handle(name: str) -> ScenarioHandle:
    found = library.bundle(name)
    return ScenarioHandle(
        facts=scenario_facts(found.text),
        owner="federange",
        document=found.text,
        digest=digest(found.text),
        organisation_id=None,
        base_dir=found.directory,
    )


@dataclass
class Federation:
    clock: FrozenClock
    world: MemoryWorld
    ranges: dict[str, RangeRecord] = field(default_factory=dict)
    worlds: dict[str, str] = field(default_factory=dict)
    trainer: Principal = field(init=False)
    connectors_built: dict[str, Connector] = field(default_factory=dict)

    def __post_init__(self) -> None:
        school = Organisation(
            id="org-school",
            name="Baltic cyber school",
            handle="baltic-cyber-school",
            country="EE",
            kind=OrganisationKind.TRAINING_PROVIDER,
            created_at=NOW,
        )
        self.world.add_organisation(school)
        self.trainer = Principal(
            id="p-anna",
            name="trainer-anna",
            organisation_id=school.id,
            organisation_country="EE",
            role=Role.TRAINER,
        )

    def add_range(self, slug: str, country: str, slots: int, **config: Any) -> RangeRecord:
        operator = Organisation(
            id=f"org-{slug}",
            name=f"{slug} operator",
            handle=f"{slug}-operator",
            country=country,
            kind=OrganisationKind.RANGE_OPERATOR,
            created_at=NOW,
        )
        self.world.add_organisation(operator)
        world_name = f"{slug}-{uuid.uuid4().hex[:8]}"
        self.worlds[slug] = world_name
        record = RangeRecord(
            id=f"r-{slug}",
            slug=slug,
            name=slug,
            description="",
            operator_organisation_id=operator.id,
            country=country,
            capabilities=frozenset({"docker"}),
            capacity=Resources(cpu_millicores=slots * 1000, memory_mib=slots * 1024, slots=slots),
            policy=SharingPolicy(),
            status=RangeStatus.ACTIVE,
            preference=50,
            connector=ConnectorSettings(kind="fake", config={"world": world_name, **config}),
            created_at=NOW,
            updated_at=NOW,
        )
        self.world.add_range(record)
        self.ranges[slug] = record
        return record

    def change_range(self, slug: str, **changes: Any) -> RangeRecord:
        record = replace(self.ranges[slug], **changes)
        self.world.add_range(record)
        self.ranges[slug] = record
        return record

    def fake_world(self, slug: str) -> fake.World:
        return fake.world(self.worlds[slug])

    def connector(self, record: RangeRecord) -> Connector:
        built = self.connectors_built.get(record.id)
        if built is None:
            built = fake.FakeConnector(dict(record.connector.config))
            self.connectors_built[record.id] = built
        return built

    def values(self, handle: ScenarioHandle, instance_id: str) -> dict[str, str]:
        return instance_values(handle.document, seed=SEED, instance_id=instance_id)

    def runtime(self) -> lifecycle.Runtime:
        return lifecycle.Runtime(
            transactions=self.world.transactions,
            clock=self.clock,
            connectors=self.connector,
            values=self.values,
            deployable=lambda handle: handle.document,
            provisioner=AnsibleProvisioner(),
            ready_timeout=5.0,
        )

    # -- use cases ---------------------------------------------------------------------------------
    def draft(
        self, teams: int = 3, *, starts_in: timedelta = timedelta(hours=1), **changes: Any
    ) -> ExerciseDraft:
        draft = ExerciseDraft(
            name="spring exercise",
            scenario="ctf-starter",
            teams=tuple(Team(name=f"team-{n}", organisation="", country="") for n in range(1, teams + 1)),
            start=self.clock.now() + starts_in,
            end=self.clock.now() + starts_in + timedelta(hours=4),
            lead=timedelta(minutes=15),
        )
        return replace(draft, **changes)

    def create(self, draft: ExerciseDraft) -> Detail:
        with self.world.transactions() as unit:
            return ExerciseService(unit=unit, clock=self.clock, plugins=PLUGINS).create(self.trainer, draft)

    def instances(self, exercise_id: str) -> list[Instance]:
        with self.world.transactions() as unit:
            return list(unit.exercises.instances_of(exercise_id))

    def run_due(self, *, rounds: int = 10) -> list[str]:
        """Run every due action (and those they make due) like the scheduler; returns the kinds run."""
        rt = self.runtime()
        ran: list[str] = []
        for _ in range(rounds):
            with self.world.transactions() as unit:
                due = unit.actions.due(self.clock.now())
            if not due:
                return ran
            for action in due:
                final = action.attempts + 1 >= action.max_attempts
                error = ""
                try:
                    _HANDLERS[action.kind](rt, action.object_id, final)
                except lifecycle.RetryLater as exc:
                    error = str(exc)
                with self.world.transactions() as unit:
                    unit.actions.finish(action.id, error=error, retry_at=self.clock.now() + RETRY_AFTER)
                ran.append(action.kind)
        return ran

    def at(self, when: datetime) -> list[str]:
        """Move the clock to `when` and run what is due."""
        self.clock.set(when)
        return self.run_due()


class Outage:
    """A range whose `calls` fail `failures` times, then work: the connector Protocol, delegating to a
    real (fake-connector) range, the way a flaky API server in front of it would behave."""

    def __init__(self, real: Connector, *, failures: int, calls: tuple[str, ...]) -> None:
        self.real = real
        self.failures = failures
        self.calls = calls
        self.kind = real.kind

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.real, name)
        if name not in self.calls:
            return method

        def flaky(**kwargs: Any) -> Any:
            if self.failures:
                self.failures -= 1
                raise ConnectorError("the range's API is down", retryable=True)
            return method(**kwargs)

        return flaky


_HANDLERS = {
    schedule.DEPLOY: lambda rt, i, final: lifecycle.deploy(rt, i, final_attempt=final),
    schedule.PROVISION: lambda rt, i, final: lifecycle.deploy(
        rt, i, final_attempt=final, provision_only=True
    ),
    schedule.TEARDOWN_INSTANCE: lambda rt, i, _final: lifecycle.teardown_instance(rt, i),
    schedule.TEARDOWN: lambda rt, i, _final: lifecycle.teardown_exercise(rt, i),
    schedule.WARN: lambda rt, i, _final: lifecycle.warn_end(rt, i),
    schedule.READY_DEADLINE: lambda rt, i, _final: lifecycle.ready_deadline(rt, i),
    schedule.REFILL_POOL: lambda rt, i, _final: pools.refill_pool(rt, i),
}


def federation() -> Federation:
    clock = FrozenClock(NOW)
    fed = Federation(clock=clock, world=MemoryWorld(clock=clock))
    fed.add_range("ee-range", "EE", 2)
    fed.add_range("lv-range", "LV", 2)
    fed.world.add_scenario(library_handle("ctf-starter"))
    return fed
