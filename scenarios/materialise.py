"""Per-instance values: every variable of a scenario resolved for one team instance, and templates filled.

Values are derived with HMAC-SHA256 from a federation seed and the instance id, so they are reproducible
(a redeploy after a crash gives the instance the same flags and passwords, and the trainer's access table
stays right) yet unpredictable to anyone without the seed, and different for every team.
"""

from __future__ import annotations

import hashlib
import hmac
import string
from collections.abc import Mapping

from scenarios.model import TEMPLATE_RE, Scenario, Variable, VariableKind

_PASSWORD_ALPHABET = string.ascii_letters + string.digits


class _Stream:
    """Deterministic bytes for one (seed, instance, variable): HMAC in counter mode."""

    def __init__(self, seed: bytes, instance_id: str, name: str) -> None:
        self._key = hmac.new(seed, f"{instance_id}\0{name}".encode(), hashlib.sha256).digest()
        self._counter = 0
        self._buffer = b""

    def take(self, n: int) -> bytes:
        while len(self._buffer) < n:
            self._buffer += hmac.new(self._key, self._counter.to_bytes(8, "big"), hashlib.sha256).digest()
            self._counter += 1
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

    def below(self, bound: int) -> int:
        """A uniform integer in [0, bound) (rejection sampling, no modulo bias)."""
        if bound <= 1:
            return 0
        width = (bound.bit_length() + 7) // 8 + 1
        limit = (256**width // bound) * bound
        while True:
            value = int.from_bytes(self.take(width), "big")
            if value < limit:
                return value % bound


def value_of(variable: Variable, *, seed: bytes, instance_id: str) -> str:
    stream = _Stream(seed, instance_id, variable.name)
    kind = variable.kind
    if kind is VariableKind.VALUE:
        return variable.value
    if kind is VariableKind.FLAG:
        return f"{variable.prefix}{{{stream.take(variable.length).hex()[: variable.length]}}}"
    if kind is VariableKind.TOKEN:
        return stream.take(variable.length).hex()[: variable.length]
    if kind is VariableKind.PASSWORD:
        return "".join(
            _PASSWORD_ALPHABET[stream.below(len(_PASSWORD_ALPHABET))] for _ in range(variable.length)
        )
    if kind is VariableKind.CHOICE:
        return variable.choices[stream.below(len(variable.choices))]
    if kind is VariableKind.INTEGER:
        return str(variable.minimum + stream.below(variable.maximum - variable.minimum + 1))
    raise ValueError(f"unknown variable kind {kind}")


def materialise(scenario: Scenario, *, seed: bytes, instance_id: str) -> dict[str, str]:
    """Every variable of the scenario resolved for this instance."""
    if not seed:
        raise ValueError("materialising variables needs a non-empty seed")
    return {v.name: value_of(v, seed=seed, instance_id=instance_id) for v in scenario.spec.variables}


def fill(text: str, values: Mapping[str, str]) -> str:
    """Replace every `{{ vars.NAME }}` in `text`; an unknown name is an error (validation prevents it)."""

    def replace(match: object) -> str:
        name = match.group(1)  # type: ignore[attr-defined]
        if name not in values:
            raise KeyError(f"no value for template variable '{name}'")
        return values[name]

    return TEMPLATE_RE.sub(replace, text)


def secret_names(scenario: Scenario) -> frozenset[str]:
    return frozenset(v.name for v in scenario.spec.variables if v.is_secret)
