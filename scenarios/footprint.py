"""Footprint: exactly what one team instance of a scenario needs, the demand the booking engine reserves."""

from __future__ import annotations

from dataclasses import dataclass

from scenarios.model import Scenario


@dataclass(frozen=True, kw_only=True)
class Footprint:
    """Per team instance: the sum of the hosts' reserved cpu/memory (limits, else requests), one instance
    slot, GPUs, and the number of pods/containers (hosts)."""

    cpu_millicores: int
    memory_mib: int
    slots: int
    gpus: int
    hosts: int
    requests_cpu_millicores: int
    requests_memory_mib: int

    def demand(self) -> dict[str, int]:
        """The four booking dimensions, as the booking engine's Resources.from_dict expects them."""
        return {
            "cpu_millicores": self.cpu_millicores,
            "memory_mib": self.memory_mib,
            "slots": self.slots,
            "gpus": self.gpus,
        }


def footprint(scenario: Scenario) -> Footprint:
    hosts = scenario.spec.hosts
    return Footprint(
        cpu_millicores=sum(h.resources.reserved.cpu_millicores for h in hosts),
        memory_mib=sum(h.resources.reserved.memory_mib for h in hosts),
        slots=1,
        gpus=sum(h.resources.gpus for h in hosts),
        hosts=len(hosts),
        requests_cpu_millicores=sum(h.resources.requests.cpu_millicores for h in hosts),
        requests_memory_mib=sum(h.resources.requests.memory_mib for h in hosts),
    )
