"""Capacity vectors: the four dimensions a range shares and a booking reserves.

Every admission and placement decision compares these vectors dimension by dimension, so a refusal can
always name the dimension that did not fit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

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
