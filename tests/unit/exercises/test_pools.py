"""Warm pools on the in-memory unit of work: the same port as the database's, the same claim."""

from __future__ import annotations

from datetime import timedelta

from orchestrator.domain.bookings import BookingStatus
from orchestrator.exercises import pools
from orchestrator.exercises.environments import EnvironmentService
from orchestrator.exercises.model import ExerciseKind, Stage
from orchestrator.exercises.pools import PoolService
from orchestrator.exercises.service import ExerciseService
from orchestrator.identity.principals import Principal, Role
from tests.unit.exercises.world import PLUGINS, Federation

OPERATOR = Principal(
    id="p-ee-ops",
    name="ee-ops",
    organisation_id="org-ee-range",
    organisation_country="EE",
    role=Role.OPERATOR,
)


def _pool(fed: Federation, *, min_ready: int, max_ready: int) -> str:
    with fed.world.transactions() as unit:
        service = PoolService(exercises=ExerciseService(unit=unit, clock=fed.clock, plugins=PLUGINS))
        view = service.create(
            OPERATOR,
            range_ref="ee-range",
            scenario="ctf-starter",
            min_ready=min_ready,
            max_ready=max_ready,
            lifetime=timedelta(hours=8),
        )
    return view.pool.id


def _ready(fed: Federation, pool_id: str) -> int:
    with fed.world.transactions() as unit:
        return unit.exercises.stage_counts(pool_id).get(Stage.READY, 0)


def test_a_claim_moves_a_ready_instance_out_and_a_refill_action_replaces_it(fed: Federation) -> None:
    pool_id = _pool(fed, min_ready=1, max_ready=1)  # ee-range: one slot for the pool, one for a claim
    fed.run_due()
    assert _ready(fed, pool_id) == 1
    with fed.world.transactions() as unit:
        service = EnvironmentService(
            exercises=ExerciseService(unit=unit, clock=fed.clock, plugins=PLUGINS), clock=fed.clock
        )
        env = service.launch(fed.trainer, scenario="ctf-starter", ttl=timedelta(hours=1))
    (instance,) = env.instances
    assert env.exercise.kind is ExerciseKind.ENVIRONMENT and instance.stage is Stage.READY
    assert instance.exercise_id == env.exercise.id and instance.team == fed.trainer.name
    with fed.world.transactions() as unit:
        (booking,) = unit.booking.store.bookings_of_request(env.exercise.id)
        assert booking.status is BookingStatus.ACTIVE and instance.booking_id == booking.id
    assert _ready(fed, pool_id) == 0
    assert fed.run_due().count("pool.refill") == 1
    assert _ready(fed, pool_id) == 1
    assert pools.refill_all(fed.world.transactions, fed.clock) == 0  # nothing missing: the net adds none


def test_without_a_ready_instance_a_launch_goes_the_ordinary_way(fed: Federation) -> None:
    _pool(fed, min_ready=1, max_ready=1)  # not deployed yet
    with fed.world.transactions() as unit:
        service = EnvironmentService(
            exercises=ExerciseService(unit=unit, clock=fed.clock, plugins=PLUGINS), clock=fed.clock
        )
        env = service.launch(fed.trainer, scenario="ctf-starter", ttl=timedelta(hours=1))
    assert [i.stage for i in env.instances] == [Stage.BOOKED]
