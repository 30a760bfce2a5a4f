"""The client-side token bucket, on a fake clock."""

from __future__ import annotations

from connectors.kubernetes.ratelimit import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_burst_passes_at_once_then_calls_are_spaced_by_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=10, burst=3, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        bucket.acquire()
    assert clock.slept == []
    bucket.acquire()
    bucket.acquire()
    assert [round(s, 6) for s in clock.slept] == [0.1, 0.1]


def test_waiters_reserve_their_slot_in_arrival_order() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=4, burst=1, clock=clock, sleep=clock.sleep)
    assert bucket.reserve() == 0
    assert [bucket.reserve() for _ in range(3)] == [0.25, 0.5, 0.75]  # nobody has slept yet


def test_idle_time_refills_up_to_the_burst_only() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=1, burst=2, clock=clock, sleep=clock.sleep)
    bucket.acquire()
    bucket.acquire()
    clock.now += 60
    assert bucket.reserve() == 0
    assert bucket.reserve() == 0
    assert bucket.reserve() == 1.0


def test_a_rate_of_zero_means_no_limit() -> None:
    bucket = TokenBucket(rate=0, burst=1)
    assert all(bucket.reserve() == 0 for _ in range(1000))
