"""The one Connector Protocol: how Federange talks to a range, whatever runs it.

Contract (every implementation, checked by tests/contract):
- every call is keyword-only and idempotent;
- `deploy` for an instance id that is already deployed converges it and returns, it never duplicates;
- `teardown` of an unknown or already removed instance returns normally;
- `status` of an unknown instance returns `InstanceStatus(phase=Phase.ABSENT)`, never raises;
- a refusal (the range will not take the instance: policy, capacity, unsupported feature) raises
  `ConnectorRefusal` with a human reason at once; a failure of the range (API down, timeouts after
  retries, image pull errors) raises `ConnectorError` with a reason. Neither ever hangs: every wait is
  bounded by the connector's own timeouts;
- every object a connector creates carries the instance id in labels so `list_instances` finds it
  again after a crash, and `teardown` removes all of it.

Optional capabilities (end of this file), checked with isinstance and never required: `CommandRunner`
(run a command in a host: walkthroughs), `ImageBuilder` (build images, hand them on), `ImageStore` (a
range that loads images itself), `RegistryPull` (a range whose nodes pull built images from a registry),
`AccessCheck` (which permissions the range's credentials lack) and `BulkTeardown` (many at once).
A connector given a scenario that builds its own images (`build:` hosts) receives it pinned to the images'
content tags (scenarios.images.pin), and refuses it before creating anything when one is missing.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from connectors.secrets import ConfigPath, path_text

if TYPE_CHECKING:
    from scenarios.model import Scenario

#: Label keys put on every object a connector creates.
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_INSTANCE = "federange.eu/instance"
LABEL_EXERCISE = "federange.eu/exercise"
LABEL_TEAM = "federange.eu/team"
LABEL_SCENARIO = "federange.eu/scenario"
LABEL_HOST = "federange.eu/host"
LABEL_SEGMENT = "federange.eu/segment"
MANAGED_BY = "federange"


def label_value(text: str) -> str:
    """A Kubernetes/Docker label value: at most 63 of [A-Za-z0-9._-], starting and ending alphanumeric."""
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "-" for c in text)[:63]
    return cleaned.strip("._-") or "none"


class ConnectorRefusal(Exception):
    """The range will not take this request; `reason` says why. Not retried."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ConnectorError(Exception):
    """The range failed to do what was asked (after retries); `reason` says what failed where."""

    def __init__(self, reason: str, *, retryable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong with a connector config: `path` from the config's root (connectors.secrets), and a
    reason that never quotes the value (it may be a secret)."""

    path: ConfigPath
    reason: str


class ConfigInvalid(ConnectorError):
    """A connector config its kind's schema refuses; `problems` names every bad field by its path."""

    def __init__(self, kind: str, problems: Sequence[ConfigProblem]) -> None:
        self.kind = kind
        self.problems = tuple(problems)
        listed = "; ".join(f"{path_text(p.path) or '(config)'}: {p.reason}" for p in self.problems)
        super().__init__(f"{kind} connector config: {listed}")


class Phase(enum.StrEnum):
    ABSENT = "absent"
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"
    TERMINATING = "terminating"


#: The dimensions a range shares and a booking reserves; every admission and placement decision compares
#: capacity vectors dimension by dimension, so a refusal can always name the dimension that did not fit.
DIMENSIONS: tuple[str, ...] = ("cpu_millicores", "memory_mib", "slots", "gpus")

#: Human names used in refusal messages ("free 12000 cpu millicores < 16000 needed").
DIMENSION_LABELS: dict[str, str] = {
    "cpu_millicores": "cpu millicores",
    "memory_mib": "memory MiB",
    "slots": "instance slots",
    "gpus": "GPUs",
}


@dataclass(frozen=True, slots=True)
class Resources:
    """A non-negative-by-convention amount of each dimension (subtraction may go negative)."""

    cpu_millicores: int = 0
    memory_mib: int = 0
    slots: int = 0
    gpus: int = 0

    def __add__(self, other: Resources) -> Resources:
        return Resources(
            self.cpu_millicores + other.cpu_millicores,
            self.memory_mib + other.memory_mib,
            self.slots + other.slots,
            self.gpus + other.gpus,
        )

    def __sub__(self, other: Resources) -> Resources:
        return Resources(
            self.cpu_millicores - other.cpu_millicores,
            self.memory_mib - other.memory_mib,
            self.slots - other.slots,
            self.gpus - other.gpus,
        )

    def scale(self, factor: int) -> Resources:
        """This vector times an integer factor (N team instances of one footprint)."""
        return Resources(
            self.cpu_millicores * factor, self.memory_mib * factor, self.slots * factor, self.gpus * factor
        )

    def items(self) -> Iterator[tuple[str, int]]:
        yield "cpu_millicores", self.cpu_millicores
        yield "memory_mib", self.memory_mib
        yield "slots", self.slots
        yield "gpus", self.gpus

    def get(self, dimension: str) -> int:
        if dimension not in DIMENSIONS:
            raise KeyError(dimension)
        value: int = getattr(self, dimension)
        return value

    def fits_in(self, other: Resources) -> bool:
        """True when every dimension of self is at most the same dimension of other."""
        return all(v <= other.get(k) for k, v in self.items())

    def shortfalls(self, free: Resources) -> list[tuple[str, int, int]]:
        """(dimension, needed, free) for every dimension where self exceeds free."""
        return [(k, v, free.get(k)) for k, v in self.items() if v > free.get(k)]

    def pointwise_max(self, other: Resources) -> Resources:
        return Resources(
            max(self.cpu_millicores, other.cpu_millicores),
            max(self.memory_mib, other.memory_mib),
            max(self.slots, other.slots),
            max(self.gpus, other.gpus),
        )

    def is_negative_anywhere(self) -> bool:
        return any(v < 0 for _, v in self.items())

    def as_dict(self) -> dict[str, int]:
        return {
            "cpu_millicores": self.cpu_millicores,
            "memory_mib": self.memory_mib,
            "slots": self.slots,
            "gpus": self.gpus,
        }

    @classmethod
    def from_dict(cls, data: dict[str, int]) -> Resources:
        return cls(**{k: int(data.get(k, 0)) for k in DIMENSIONS})


ZERO = Resources()


@dataclass(frozen=True, kw_only=True)
class ProbeResult:
    healthy: bool
    version: str
    observed_free: Resources
    observed_total: Resources
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class SecurityAllowance:
    """What the target range's policy lets scenarios ask for (default: nothing dangerous)."""

    privileged: bool = False
    host_namespaces: bool = False
    host_path: bool = False
    added_capabilities: frozenset[str] = frozenset()
    #: Hosts may declare `allow_privilege_escalation: true` (setuid, sudo: what Pod Security `baseline`
    #: admits and exercises often need); a range that refuses it sets False.
    privilege_escalation: bool = True

    def refuses(self, asks: Iterable[str]) -> list[str]:
        """Which of a scenario's asks (`privileged`, `host_network`, `host_pid`, `host_path`,
        `privilege_escalation`, `capability:<NAME>`: orchestrator's ScenarioFacts.privileges) this
        allowance does not grant,
        sorted; empty: every one is granted. Capabilities compare in one spelling (NET_ADMIN)."""
        granted = {c.strip().upper().removeprefix("CAP_") for c in self.added_capabilities}
        refused = []
        for ask in asks:
            if ask.startswith("capability:"):
                ok = ask.removeprefix("capability:").strip().upper().removeprefix("CAP_") in granted
            elif ask in ("host_network", "host_pid"):
                ok = self.host_namespaces
            else:
                ok = {
                    "privileged": self.privileged,
                    "host_path": self.host_path,
                    "privilege_escalation": self.privilege_escalation,
                }.get(ask, False)
            if not ok:
                refused.append(ask)
        return sorted(refused)


@dataclass(frozen=True, kw_only=True)
class InstanceSpec:
    """One team's isolated copy of a scenario, as a connector deploys it.

    `instance_id` is DNS-label safe (lowercase, digits, '-'; at most 20 characters) and unique across
    the federation; `scenario_document` is the scenario's YAML document exactly as the orchestrator
    booked it (valid: the orchestrator validated it); `values` maps every per-instance variable and
    generated secret of the scenario to its resolved value for this instance (see scenarios.materialise).
    """

    instance_id: str
    exercise: str
    team: str
    scenario_document: str
    values: Mapping[str, str] = field(default_factory=dict)
    allowance: SecurityAllowance = field(default_factory=SecurityAllowance)

    @property
    def scenario(self) -> Scenario:
        """The parsed document (parsed once per process and document, see scenarios.loader.parsed)."""
        # Imported here: the orchestrator's framework-free core imports this module, the parser is pydantic.
        from scenarios.loader import parsed  # noqa: PLC0415 - keeps pydantic out of the core

        return parsed(self.scenario_document)

    def labels(self) -> dict[str, str]:
        """The labels every object of this instance carries (values are label-safe)."""
        return {
            LABEL_MANAGED_BY: MANAGED_BY,
            LABEL_INSTANCE: self.instance_id,
            LABEL_EXERCISE: label_value(self.exercise),
            LABEL_TEAM: label_value(self.team),
            LABEL_SCENARIO: label_value(self.scenario.metadata.name),
        }


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    """How a team reaches one of its entry hosts.

    `port` is the scenario's port on the host; `url` is what the team connects to (`tcp://addr:port`,
    with the port the range published, which may differ from `port`); `address` is the reachable host
    part (a node IP, a load balancer, or `addr:published-port` where the range maps ports).
    """

    host: str
    port: int
    protocol: str = "TCP"
    address: str = ""
    url: str = ""


@dataclass(frozen=True, kw_only=True)
class HostStatus:
    name: str
    ready: bool
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class InstanceStatus:
    instance_id: str
    phase: Phase
    hosts: tuple[HostStatus, ...] = ()
    endpoints: tuple[Endpoint, ...] = ()
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class ProvisioningTarget:
    """How Ansible reaches the hosts of one deployed instance (for post-deploy provisioning).

    `inventory` is an Ansible YAML inventory (`{"all": {"hosts": {name: {connection vars}}}}`) whose
    host names are the scenario's host names; `files` are files (file name -> content, e.g. a kubeconfig)
    the provisioner writes into its private run directory first: the inventory refers to them as
    `{{ federange_files }}/<name>`. Secrets travel only here, never in logs.
    """

    inventory: Mapping[str, Any]
    files: Mapping[str, str] = field(default_factory=dict)
    #: A simulated range (the fake connector) has no machines to run playbooks against.
    simulated: bool = False


@dataclass(frozen=True, kw_only=True)
class InstanceRecord:
    """What `list_instances` reports: an instance the range holds objects for."""

    instance_id: str
    exercise: str = ""
    team: str = ""
    phase: Phase = Phase.PENDING


@runtime_checkable
class Connector(Protocol):
    """A driver for one range. Constructed from the range's connector config (a mapping, validated by the
    kind's schema: connectors.schema), raising ConfigInvalid naming the fields it refuses."""

    kind: str

    def probe(self) -> ProbeResult:
        """Health, version and observed capacity of the range. Never raises for an unhealthy range:
        returns `healthy=False` with the reason."""
        ...

    def deploy(self, *, instance: InstanceSpec) -> InstanceStatus:
        """Create or converge every object of the instance; idempotent per instance id. Returns the
        status right after the objects exist (it does not wait for readiness: see `wait_ready`)."""
        ...

    def wait_ready(self, *, instance_id: str, timeout: float) -> InstanceStatus:
        """Wait (bounded by `timeout` seconds) until every host is ready or one has failed; returns the
        final status, with `phase=FAILED` and a reason (image pull error, crash loop, quota) on failure
        or on timeout."""
        ...

    def status(self, *, instance_id: str) -> InstanceStatus:
        """Per-host readiness and access endpoints; `Phase.ABSENT` for an unknown instance."""
        ...

    def teardown(self, *, instance_id: str) -> None:
        """Remove every object of the instance and return once they are gone; no error if absent."""
        ...

    def list_instances(self) -> Sequence[InstanceRecord]:
        """Every instance this range holds objects for (for reconciliation and orphan detection)."""
        ...

    def provisioning_target(self, *, instance_id: str) -> ProvisioningTarget:
        """How Ansible reaches this deployed instance's hosts; raises ConnectorError when the instance
        is absent or the range offers no way in (a VM range driven by playbooks answers with its own)."""
        ...

    def close(self) -> None:
        """Release what the connector holds (HTTP clients, sockets); it is not used afterwards. Closing
        twice is harmless."""
        ...


ConnectorConfig = Mapping[str, Any]


# Optional capabilities ----------------------------------------------------------------------------------
# A connector may offer more than the Protocol above. Callers check with isinstance (the Protocols are
# runtime-checkable) and say plainly when a range lacks a capability; no connector has to implement them.


@dataclass(frozen=True, kw_only=True)
class CommandResult:
    """What a command run inside a host printed, and how it ended (`exit_code` None: still running when
    the timeout ran out; it ends with the host at the latest)."""

    exit_code: int | None
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@runtime_checkable
class CommandRunner(Protocol):
    """Runs a command inside one host of a deployed instance (Docker: the exec API; Kubernetes:
    pods/exec), as the image's user, without a shell unless argv names one. For walkthroughs and checks,
    not for provisioning (playbooks go through `provisioning_target`)."""

    def run(self, *, instance_id: str, host: str, argv: Sequence[str], timeout: float) -> CommandResult:
        """Run argv in `host` and wait at most `timeout` seconds; ConnectorError when the instance or the
        host's container is absent or the range fails."""
        ...


@dataclass(frozen=True, kw_only=True)
class ImageBuild:
    """One image to build on an engine: the context folder, the Containerfile in it, build arguments,
    labels, and the tag it gets."""

    tag: str
    context: Path
    containerfile: str = "Containerfile"
    args: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class ImageBuilder(Protocol):
    """An engine that builds images (the Docker connector), and hands them to other ranges: as an image
    archive (for an engine that loads it) or by pushing to a registry."""

    def has_image(self, *, image: str) -> bool: ...

    def build_image(self, *, build: ImageBuild, on_line: Callable[[str], None]) -> str:
        """Build and tag the image; returns its id. ConnectorError with the failing step's output."""
        ...

    def export_image(self, *, image: str) -> Iterator[bytes]:
        """The image as a `docker save` archive, in chunks."""
        ...

    def push_image(self, *, image: str, reference: str, on_line: Callable[[str], None]) -> None:
        """Tag `image` as `reference` (registry/repository:tag) and push it there."""
        ...


@runtime_checkable
class ImageStore(Protocol):
    """A range that keeps images itself (a Docker engine): built images are loaded into it."""

    def missing_images(self, *, images: Sequence[str]) -> list[str]: ...

    def load_images(self, *, archive: Iterable[bytes]) -> None:
        """Load a `docker save` archive (chunks); ConnectorError when the engine refuses it."""
        ...


@runtime_checkable
class RegistryPull(Protocol):
    """A range whose nodes pull built images from a registry named in its config (Kubernetes)."""

    def pull_reference(self, *, image: str) -> str:
        """Where this range pulls a built image from (registry/repository:tag); ConnectorRefusal when
        the range names no registry."""
        ...

    def missing_images(self, *, images: Sequence[str]) -> list[str]:
        """The built images its registry does not hold."""
        ...


@runtime_checkable
class AccessCheck(Protocol):
    """A range whose credentials can be checked against exactly what its connector needs (Kubernetes:
    RBAC, asked with SelfSubjectAccessReview)."""

    def check_access(self) -> list[str]:
        """Each permission the connector needs that the range's credentials lack, in words (`create
        namespaces`); empty: all granted. ConnectorError when the range cannot be asked."""
        ...


@runtime_checkable
class BulkTeardown(Protocol):
    """A range that tears many instances down faster together than one by one (Kubernetes: delete every
    namespace first, then wait for all of them in one watch)."""

    def teardown_all(self, *, instance_ids: Sequence[str]) -> Mapping[str, ConnectorError | ConnectorRefusal]:
        """`teardown` of every instance; returns the failures by instance id (empty: all gone)."""
        ...


def poll_until_settled(
    status: Callable[[], InstanceStatus], *, instance_id: str, timeout: float, pauses: Iterable[float]
) -> InstanceStatus:
    """`wait_ready` for connectors that can only poll: read `status` until the instance is READY, FAILED
    or ABSENT, sleeping the next of `pauses` in between (its last value repeats); past `timeout` seconds
    the result is FAILED, naming every host still not ready. A status read that raises ConnectorError
    is a FAILED result with its reason."""
    deadline = time.monotonic() + timeout
    pause = 0.0
    remaining = iter(pauses)
    while True:
        try:
            current = status()
        except ConnectorError as exc:
            return InstanceStatus(instance_id=instance_id, phase=Phase.FAILED, reason=exc.reason)
        if current.phase in (Phase.READY, Phase.FAILED, Phase.ABSENT):
            return current
        left = deadline - time.monotonic()
        if left <= 0:
            return not_ready_after(current, timeout=timeout)
        pause = next(remaining, pause)
        time.sleep(min(pause, left))


def not_ready_after(current: InstanceStatus, *, timeout: float, why: str | None = None) -> InstanceStatus:
    """`wait_ready`'s result when `timeout` ran out: FAILED, with the hosts and endpoints last seen and
    the reason (`why`, or else every host still not ready)."""
    if why is None:
        why = ", ".join(f"{h.name} ({h.reason or 'not ready'})" for h in current.hosts if not h.ready)
    return InstanceStatus(
        instance_id=current.instance_id,
        phase=Phase.FAILED,
        hosts=current.hosts,
        endpoints=current.endpoints,
        reason=f"not ready after {timeout:g}s: {why or current.reason}",
    )


@dataclass(frozen=True, kw_only=True)
class RemoteHold:
    """A hold (a booking in its provisional state, or later) kept by a range's own calendar: a peer's."""

    id: str
    key: str
    status: str
    start: str
    end: str
    expires_at: str | None = None


@dataclass(frozen=True, kw_only=True)
class Requester:
    """On whose behalf a hub holds capacity at a peer: the organisation at the hub. The home instance
    records it (its audit says for whom each hold was made) and still books for, and applies its
    sharing policy to, the hub's peer organisation: a claim it cannot check never widens what it admits."""

    id: str
    name: str
    country: str


@runtime_checkable
class RemoteCalendar(Protocol):
    """A range that keeps its own booking calendar (a peer's range, reached through its federation API):
    the orchestrator's booking of it is only valid once the range's own engine admitted it. A refusal
    raises ConnectorRefusal with the range's reason unchanged (prefixed with where it came from); a range
    that cannot be reached raises ConnectorError, within the connector's timeout."""

    def availability(self, *, start: str, end: str) -> Resources:
        """What the range would still admit for us over [start, end) (ISO 8601 instants)."""
        ...

    def hold(
        self, *, key: str, start: str, end: str, demand: Resources, requester: Requester | None = None
    ) -> RemoteHold:
        """Hold `demand` for [start, end); `key` is our idempotency key: asking again returns the same.
        `requester`: the organisation we book for, told to the range's home instance."""
        ...

    def find_hold(self, *, key: str) -> RemoteHold | None:
        """The hold made with `key`, if the range has one (for presumed abort after a crash)."""
        ...

    def confirm(self, *, hold_id: str) -> RemoteHold: ...

    def release(self, *, hold_id: str) -> RemoteHold:
        """Give the capacity back (a hold, a confirmed or an active booking); releasing twice is harmless."""
        ...

    def renew(self, *, hold_id: str, end: str) -> RemoteHold:
        """Move the booking's end to exactly `end`, or refuse saying the latest end it could grant."""
        ...


@runtime_checkable
class RemotePeer(Protocol):
    """Another Federange instance itself (a federation connector built without a range)."""

    def handshake(self) -> Mapping[str, Any]:
        """The peer's name, country and API version; ConnectorRefusal when it speaks another version."""
        ...

    def published_ranges(self) -> Sequence[Mapping[str, Any]]:
        """The ranges the peer publishes to us: slug, name, country, capabilities, capacity, free, status,
        policy (the summary of what it applies to us)."""
        ...
