"""Subnets for instance networks, from the range's own address pool.

Docker's default pools run out after about thirty bridge networks; a range hosting dozens of team
instances with several segments each needs hundreds of small ones. The connector picks the first block
of the pool that overlaps no network on the engine. Within one process a lock per engine serialises
picking and creating; between processes the engine refuses an overlapping pool and the connector picks
again (`OVERLAP_HINTS`).
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: Words of the engine's refusal when a requested subnet is already in use (Docker, Podman).
OVERLAP_HINTS = ("overlap", "already used", "in use")

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def engine_lock(base_url: str) -> threading.Lock:
    """The lock that serialises network creation against one engine within this process."""
    with _locks_guard:
        return _locks.setdefault(base_url, threading.Lock())


def used_subnets(networks: Sequence[Mapping[str, Any]]) -> list[ipaddress.IPv4Network]:
    """The IPv4 subnets of networks as the engine lists them (`GET /networks`)."""
    used: list[ipaddress.IPv4Network] = []
    for network in networks:
        ipam = network.get("IPAM") or {}
        for pool in ipam.get("Config") or []:
            subnet = (pool or {}).get("Subnet")
            if not subnet:
                continue
            try:
                parsed = ipaddress.ip_network(subnet, strict=False)
            except ValueError:
                continue
            if isinstance(parsed, ipaddress.IPv4Network):
                used.append(parsed)
    return used


def pick_subnet(
    pool: ipaddress.IPv4Network, prefix: int, used: Iterable[ipaddress.IPv4Network]
) -> ipaddress.IPv4Network | None:
    """The first `/prefix` block of `pool` overlapping none of `used` (None when the pool is full)."""
    taken = [u for u in used if u.overlaps(pool)]
    for candidate in pool.subnets(new_prefix=prefix):
        if not any(candidate.overlaps(u) for u in taken):
            return candidate
    return None


def is_overlap(message: str) -> bool:
    lowered = message.lower()
    return any(hint in lowered for hint in OVERLAP_HINTS)
