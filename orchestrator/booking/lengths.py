"""Length classes: how a store finds the bookings overlapping a window through an index, without scanning
the range's whole calendar.

A booking [s, e) overlaps the window [S, E) when s < E and e > S. An index on (range, start) answers
`s < E` but not `e > S`; bounding the booking length by L turns `e > S` into `s > S - L`, an index range
scan. One global L would make every admission read every booking that started in the last L (one long
booking would make every range scan its whole history). So each booking is filed under a *length class*:
class c holds the bookings of length at most 2^c hours (class 0: up to one hour). A store probes the
index (range, class, start) once per class with start in (S - 2^c h, E): 17 index range scans of
O(log n) each.

What each probe returns beyond the overlapping bookings is bounded too: a class-c booking that starts in
(S - 2^c h, S - 2^(c-1) h] is longer than 2^(c-1) h, so it covers the instant S - 2^(c-1) h, and one that
starts later and is that long still runs at S. The false positives are therefore bookings all running at
one common instant, limited by what the range holds at once. Admission cost is O(17 log n + k + c) for
n bookings on the range, k of them overlapping the window and c running at once: it grows with the
overlapping bookings, not with the calendar.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

#: The longest booking Federange accepts; 2^16 hours (~7.5 years) is the span of the top class.
MAX_CLASS = 16
MAX_BOOKING_LENGTH = timedelta(hours=2**MAX_CLASS)


def length_class(start: datetime, end: datetime) -> int:
    """The smallest class c with end - start <= 2^c hours."""
    hours = (end - start) / timedelta(hours=1)
    if hours <= 1:
        return 0
    c = math.ceil(math.log2(hours))
    # Guard against floating-point rounding at exact powers of two.
    while c > 0 and hours <= 2 ** (c - 1):
        c -= 1
    while hours > 2**c:
        c += 1
    if c > MAX_CLASS:
        raise ValueError(f"a booking of {end - start} is longer than the maximum {MAX_BOOKING_LENGTH}")
    return c


def class_span(c: int) -> timedelta:
    """The longest booking class `c` holds."""
    return timedelta(hours=2**c)


def probes(start: datetime, end: datetime) -> list[tuple[int, datetime, datetime]]:
    """(class, lower, upper): the bookings of that class with lower < booking.start < upper include every
    booking of the class that overlaps [start, end)."""
    return [(c, start - class_span(c), end) for c in range(MAX_CLASS + 1)]
