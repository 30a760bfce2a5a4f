"""An in-memory range: the connector the contract suite checks first, and the simulated ranges of the demo.

State lives in named worlds shared by every FakeConnector built with the same `world` config value, the
way a real range's state outlives the connector objects the orchestrator builds per call. Latency and
failures are scriptable from the range's connector config or from tests through `world(name)`:

    connector config          effect
    world: "ee"               which world (default "default")
    deploy_latency: 0.2       seconds every deploy takes
    ready_after: 1.0          seconds after deploy until the hosts report ready
    fail_deploy: [team-b]     instance ids or team names whose deploy raises ConnectorError
    fail_ready: [team-c]      instance ids or team names that never become ready (crash loop)
    healthy: false            the probe reports the range unhealthy (`unhealthy_reason`)
    capacity: {...}           observed total capacity (cpu_millicores, memory_mib, slots, gpus)
    token: "..."              a simulated credential (secret): checked by nothing, sealed like a real
                              range's, so simulated ranges exercise the orchestrator's sealing too

The schema is `FakeConfig`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import Field

from connectors.base import (
    ConnectorError,
    Endpoint,
    HostStatus,
    InstanceRecord,
    InstanceSpec,
    InstanceStatus,
    Phase,
    ProbeResult,
    ProvisioningTarget,
    Resources,
    poll_until_settled,
)
from connectors.schema import ConfigModel, Secret, parse
from connectors.security import check_allowance
from scenarios.footprint import footprint

_VERSION = "fake/1"


@dataclass
class _Deployed:
    spec: InstanceSpec
    deployed_at: float
    deploys: int = 1
    broken: str = ""  # set when a deploy failed part-way: the objects exist but are not usable


@dataclass
class World:
    """One simulated range. Tests may script it: `fail_next_deploys`, `healthy`, `calls`."""

    name: str
    instances: dict[str, _Deployed] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    fail_next: list[tuple[str | None, str]] = field(default_factory=list)
    healthy: bool = True
    lock: threading.RLock = field(default_factory=threading.RLock)

    def fail_next_deploys(self, *reasons: str, team: str | None = None) -> None:
        """The next len(reasons) deploys (of `team`'s instances, or of any) fail part-way with these
        reasons, in order: the instance's objects are left half-created (as on a real range) and reported
        by list_instances."""
        with self.lock:
            self.fail_next.extend((team, reason) for reason in reasons)

    def reset(self) -> None:
        with self.lock:
            self.instances.clear()
            self.calls.clear()
            self.fail_next.clear()
            self.healthy = True


_worlds: dict[str, World] = {}
_worlds_lock = threading.Lock()


def world(name: str = "default") -> World:
    with _worlds_lock:
        if name not in _worlds:
            _worlds[name] = World(name=name)
        return _worlds[name]


class Capacity(ConfigModel):
    cpu_millicores: int = Field(default=0, ge=0)
    memory_mib: int = Field(default=0, ge=0)
    slots: int = Field(default=0, ge=0)
    gpus: int = Field(default=0, ge=0)


class FakeConfig(ConfigModel):
    """The fake connector's config (see the module docstring)."""

    world: str = "default"
    deploy_latency: float = Field(default=0.0, ge=0)
    ready_after: float = Field(default=0.0, ge=0)
    fail_deploy: list[str] = Field(default_factory=list)
    fail_ready: list[str] = Field(default_factory=list)
    healthy: bool = True
    unhealthy_reason: str = "simulated outage"
    capacity: Capacity = Field(
        default_factory=lambda: Capacity(cpu_millicores=64_000, memory_mib=262_144, slots=50)
    )
    token: Annotated[str, Secret()] = ""


class FakeConnector:
    kind = "fake"
    config_schema = FakeConfig

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.config = parse(FakeConfig, config, kind=self.kind)
        self.world = world(self.config.world)
        self.deploy_latency = self.config.deploy_latency
        self.ready_after = self.config.ready_after
        self.fail_deploy = frozenset(self.config.fail_deploy)
        self.fail_ready = frozenset(self.config.fail_ready)
        self.config_healthy = self.config.healthy
        self.unhealthy_reason = self.config.unhealthy_reason
        c = self.config.capacity
        self.capacity = Resources(
            cpu_millicores=c.cpu_millicores, memory_mib=c.memory_mib, slots=c.slots, gpus=c.gpus
        )

    def close(self) -> None:
        """Nothing to release: the world outlives the connector, as a real range does."""

    def _record(self, call: str, instance_id: str) -> None:
        with self.world.lock:
            self.world.calls.append((call, instance_id))

    def probe(self) -> ProbeResult:
        self._record("probe", "")
        healthy = self.config_healthy and self.world.healthy
        with self.world.lock:
            used = [footprint(d.spec.scenario) for d in self.world.instances.values()]
        free = Resources(
            cpu_millicores=self.capacity.cpu_millicores - sum(f.cpu_millicores for f in used),
            memory_mib=self.capacity.memory_mib - sum(f.memory_mib for f in used),
            slots=self.capacity.slots - len(used),
            gpus=self.capacity.gpus - sum(f.gpus for f in used),
        )
        return ProbeResult(
            healthy=healthy,
            version=_VERSION,
            observed_free=free,
            observed_total=self.capacity,
            reason="" if healthy else self.unhealthy_reason,
        )

    def _scripted_failure(self, instance: InstanceSpec) -> str | None:
        with self.world.lock:
            for i, (team, reason) in enumerate(self.world.fail_next):
                if team is None or team == instance.team:
                    del self.world.fail_next[i]
                    return reason
        if instance.instance_id in self.fail_deploy or instance.team in self.fail_deploy:
            return f"simulated deploy failure for {instance.instance_id}"
        return None

    def deploy(self, *, instance: InstanceSpec) -> InstanceStatus:
        self._record("deploy", instance.instance_id)
        check_allowance(instance)  # a simulated range refuses what a real one would
        if self.deploy_latency:
            time.sleep(self.deploy_latency)
        failure = self._scripted_failure(instance)
        with self.world.lock:
            existing = self.world.instances.get(instance.instance_id)
            if existing is None:
                existing = _Deployed(instance, time.monotonic(), deploys=0)
                self.world.instances[instance.instance_id] = existing
            existing.spec = instance
            existing.deploys += 1
            existing.broken = failure or ""
        if failure is not None:
            raise ConnectorError(failure)
        return self.status(instance_id=instance.instance_id)

    def _fails_ready(self, spec: InstanceSpec) -> bool:
        return spec.instance_id in self.fail_ready or spec.team in self.fail_ready

    def status(self, *, instance_id: str) -> InstanceStatus:
        with self.world.lock:
            deployed = self.world.instances.get(instance_id)
        if deployed is None:
            return InstanceStatus(instance_id=instance_id, phase=Phase.ABSENT)
        spec = deployed.spec
        if deployed.broken:
            reason = f"deploy failed part-way: {deployed.broken}"
            return InstanceStatus(instance_id=instance_id, phase=Phase.FAILED, reason=reason)
        if self._fails_ready(spec):
            hosts = tuple(
                HostStatus(name=h.name, ready=False, reason="CrashLoopBackOff (simulated)")
                for h in spec.scenario.spec.hosts
            )
            return InstanceStatus(
                instance_id=instance_id,
                phase=Phase.FAILED,
                hosts=hosts,
                reason=f"host {hosts[0].name}: CrashLoopBackOff (simulated)",
            )
        ready = time.monotonic() - deployed.deployed_at >= self.ready_after
        hosts = tuple(
            HostStatus(name=h.name, ready=ready, reason="" if ready else "starting")
            for h in spec.scenario.spec.hosts
        )
        endpoints = tuple(
            Endpoint(
                host=h.name,
                port=p.port,
                protocol=p.protocol.value,
                address=f"{h.name}.{instance_id}.fake.invalid",
                url=f"{p.protocol.value.lower()}://{h.name}.{instance_id}.fake.invalid:{p.port}",
            )
            for h in spec.scenario.spec.hosts
            if h.entry
            for p in h.ports
        )
        return InstanceStatus(
            instance_id=instance_id,
            phase=Phase.READY if ready else Phase.PENDING,
            hosts=hosts,
            endpoints=endpoints,
        )

    def wait_ready(self, *, instance_id: str, timeout: float) -> InstanceStatus:
        return poll_until_settled(
            lambda: self.status(instance_id=instance_id),
            instance_id=instance_id,
            timeout=timeout,
            pauses=(0.05,),
        )

    def teardown(self, *, instance_id: str) -> None:
        self._record("teardown", instance_id)
        with self.world.lock:
            self.world.instances.pop(instance_id, None)

    def list_instances(self) -> Sequence[InstanceRecord]:
        with self.world.lock:
            deployed = list(self.world.instances.values())
        return [
            InstanceRecord(
                instance_id=d.spec.instance_id,
                exercise=d.spec.exercise,
                team=d.spec.team,
                phase=self.status(instance_id=d.spec.instance_id).phase,
            )
            for d in deployed
        ]

    def provisioning_target(self, *, instance_id: str) -> ProvisioningTarget:
        with self.world.lock:
            deployed = self.world.instances.get(instance_id)
        if deployed is None:
            raise ConnectorError(f"instance {instance_id} is not deployed on fake range '{self.world.name}'")
        # A simulated range has no machines: the inventory names the hosts, but nothing can run there.
        hosts = {h.name: {"federange_instance": instance_id} for h in deployed.spec.scenario.spec.hosts}
        return ProvisioningTarget(inventory={"all": {"hosts": hosts}}, simulated=True)
