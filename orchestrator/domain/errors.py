"""The error tree. Every domain error carries a human-readable reason that reaches the API unchanged.

FederangeError
├── NotFound               (404) the object does not exist or is not visible to the caller
├── Conflict               (409) the request collides with existing state (duplicate slug, ...)
│   └── IllegalTransition  (409) a state machine refused the move
├── Forbidden              (403) the caller's role or organisation may not do this
├── Unauthenticated        (401) no, malformed or unknown token
├── InvalidInput           (422) the input is well-formed but wrong; names the field
├── Refused                (409) a booking/placement decision said no; carries every reason
├── TooManyRequests        (429) the caller must wait `retry_after` seconds (failed sign-ins)
└── NotReady               (503) a dependency (database, migrations) is not there
"""

from __future__ import annotations

from dataclasses import dataclass


class FederangeError(Exception):
    """Base of all domain errors; `reason` is shown to users as-is."""

    status = 500
    title = "Internal error"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotFound(FederangeError):
    status = 404
    title = "Not found"


class Conflict(FederangeError):
    status = 409
    title = "Conflict"


class CalendarChanged(Conflict):
    """An optimistic admission's read is out of date: a range or its calendar changed before the check
    under the locks; nothing was written, and the caller runs the unit of work again with the locks."""


class IllegalTransition(Conflict):
    title = "Illegal state transition"

    def __init__(self, *, kind: str, current: str, target: str) -> None:
        super().__init__(f"{kind} cannot move from {current} to {target}")
        self.kind = kind
        self.current = current
        self.target = target


class Forbidden(FederangeError):
    status = 403
    title = "Forbidden"


class Unauthenticated(FederangeError):
    status = 401
    title = "Unauthenticated"


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with one field: `field` is a dotted path such as `capacity.cpu_millicores`."""

    field: str
    reason: str


class InvalidInput(FederangeError):
    status = 422
    title = "Invalid input"

    def __init__(self, problems: list[FieldProblem] | FieldProblem) -> None:
        self.problems = [problems] if isinstance(problems, FieldProblem) else list(problems)
        super().__init__("; ".join(f"{p.field}: {p.reason}" for p in self.problems))


class Refused(FederangeError):
    """A decision (admission, placement, policy) said no; `reasons` lists every reason, one per line."""

    status = 409
    title = "Refused"

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = list(reasons)
        super().__init__("; ".join(self.reasons))


class TooManyRequests(FederangeError):
    status = 429
    title = "Too many requests"

    def __init__(self, reason: str, *, retry_after: int) -> None:
        super().__init__(reason)
        self.retry_after = max(int(retry_after), 1)


class NotReady(FederangeError):
    status = 503
    title = "Not ready"


class RangeFailure(FederangeError):
    """A range (its connector) failed to do what was asked: the home instance answers 502, a peer
    treats it as retryable."""

    status = 502
    title = "Range failed"
