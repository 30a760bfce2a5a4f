"""Names and labels of the Docker objects of one instance, derived only from the instance id.

Deterministic names make a create idempotent: a create repeated after its answer was lost meets its own
object under the same name (HTTP 409) and the connector adopts it. The separator between the instance id
and the rest is a dot, which neither instance ids nor scenario names (DNS labels) contain, so two
instances can never claim the same name (with a dash, `x` + host `web-db` and `x-web` + host `db` would).

    container   fr-<instance>.<host>
    network     fr-<instance>.<segment>          one bridge per segment
                fr-<instance>.<host>.edge        reachability from outside (entry ports) and egress
                fr-<instance>.flow.<n>           the hosts a cross-segment flow joins
    volume      fr-<instance>.<host>.<volume>
"""

from __future__ import annotations

PREFIX = "fr-"

#: Docker-only labels (the shared ones are in connectors.base).
LABEL_ROLE = "federange.eu/role"  # segment | edge | flow | host | volume
LABEL_HOSTS = "federange.eu/hosts"  # every host of the instance, comma-separated
LABEL_READINESS = "federange.eu/readiness"  # the host's readiness probe (JSON), empty: running is ready
LABEL_ENTRY_PORTS = "federange.eu/entry-ports"  # "2222/TCP,80/TCP" on entry hosts
LABEL_SPEC_HASH = "federange.eu/spec-hash"  # digest of the container's create request (drift detection)
LABEL_CPU = "federange.eu/cpu-millicores"  # what the container reserves (its limit), for `probe`
LABEL_MEMORY = "federange.eu/memory-mib"


def container_name(instance_id: str, host: str) -> str:
    return f"{PREFIX}{instance_id}.{host}"


def segment_network(instance_id: str, segment: str) -> str:
    return f"{PREFIX}{instance_id}.{segment}"


def edge_network(instance_id: str, host: str) -> str:
    return f"{PREFIX}{instance_id}.{host}.edge"


def flow_network(instance_id: str, index: int) -> str:
    return f"{PREFIX}{instance_id}.flow.{index}"


def volume_name(instance_id: str, host: str, volume: str) -> str:
    return f"{PREFIX}{instance_id}.{host}.{volume}"
