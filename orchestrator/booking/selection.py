"""What a booking transition acts on: one booking, or every booking of one request.

Every transition (confirm, renew, cancel, activate, release) takes a Selection and moves all the bookings
it names or none. A booking named on its own is a request of one, with one difference that the selection
carries: a booking named on its own must be able to make the move (a move it cannot make is an error),
while a request passes over those of its bookings that the move does not concern (cancelling a request
leaves its expired and rejected bookings as they are). Which statuses a request passes over is each
transition's to say (`BookingService`); `leaves` applies it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.domain.bookings import BookingStatus


@dataclass(frozen=True, slots=True)
class Selection:
    """`id` names a booking, or a request when `whole_request` is set (build it with `booking` or
    `request`)."""

    id: str
    whole_request: bool = field(default=False, kw_only=True)

    @classmethod
    def booking(cls, booking_id: str) -> Selection:
        return cls(booking_id)

    @classmethod
    def request(cls, request_id: str) -> Selection:
        return cls(request_id, whole_request=True)

    @property
    def noun(self) -> str:
        """What the actor acts on, for messages ("confirming a request")."""
        return "a request" if self.whole_request else "a booking"

    def __str__(self) -> str:
        return f"booking request '{self.id}'" if self.whole_request else f"booking '{self.id}'"

    def leaves(self, statuses: frozenset[BookingStatus]) -> frozenset[BookingStatus]:
        """The statuses a transition passes over here: `statuses` (those of a request's bookings that the
        move does not concern) for a request, none for a booking named on its own."""
        return statuses if self.whole_request else frozenset()
