"""Availability: free capacity per step, and the search for ranges and their earliest windows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.base import Resources
from orchestrator.booking.availability import SearchQuery
from orchestrator.domain.errors import InvalidInput, NotFound
from orchestrator.domain.ranges import MaintenanceWindow, SharingPolicy
from tests.unit.booking.world import FOREIGN, TRAINER, World, at, request, rng


def test_timeline_shows_the_least_free_per_step_and_the_foreign_cap() -> None:
    w = World()
    w.store.put_range(
        rng(
            "ee",
            policy=SharingPolicy(max_foreign_share=0.5),
            maintenance=(MaintenanceWindow(start=at(6), end=at(7)),),
        )
    )
    w.service.create_request(TRAINER, request(("ee", Resources(6000, 0, 2)), start=1, end=3))
    w.service.create_request(FOREIGN, request(("ee", Resources(5000, 0, 1)), start=2, end=5))
    timeline = w.service.availability.timeline(
        FOREIGN, "ee-range", start=at(0), end=at(8), step=timedelta(hours=2)
    )
    assert [s.free.cpu_millicores for s in timeline.slots] == [10000, 5000, 11000, 0]
    assert [s.free_for_owner.cpu_millicores for s in timeline.slots] == [8000, 3000, 3000, 0]
    mine = w.service.availability.timeline(
        TRAINER, "ee-range", start=at(0), end=at(8), step=timedelta(hours=2)
    )
    assert [s.free_for_owner for s in mine.slots] == [s.free for s in mine.slots]
    with pytest.raises(InvalidInput, match="step: gives 2880 slots over the window; at most 2000"):
        w.service.availability.timeline(TRAINER, "ee", start=at(0), end=at(48), step=timedelta(minutes=1))
    with pytest.raises(NotFound):
        w.service.availability.timeline(TRAINER, "nowhere", start=at(0), end=at(1), step=timedelta(hours=1))


def test_search_finds_the_earliest_window_on_each_range_and_says_why_not() -> None:
    w = World()
    w.store.put_range(rng("ee", maintenance=(MaintenanceWindow(start=at(4), end=at(6)),)))
    w.store.put_range(
        rng(
            "fi", country="FI", operator="fi-ops", policy=SharingPolicy(max_booking_length=timedelta(hours=1))
        )
    )
    w.service.create_request(FOREIGN, request(("ee", Resources(12000, 0, 1)), start=0, end=3))
    query = SearchQuery(
        demand=Resources(8000, 0, 1),
        duration=timedelta(hours=2),
        earliest_start=at(0),
        latest_end=at(12),
    )
    result = w.service.availability.search(TRAINER, query)
    assert [(h.range.slug, h.start) for h in result.hits] == [
        ("ee-range", at(6))
    ]  # after the booking and the maintenance
    assert [(m.range.slug, list(m.reasons)) for m in result.misses] == [
        (
            "fi-range",
            ["fi-range: window lasts 2 h; sharing policy allows at most 1 h"],
        )
    ]
    tight = w.service.availability.search(TRAINER, SearchQuery(**{**query.__dict__, "latest_end": at(5)}))
    assert tight.hits == []
    assert (
        tight.misses[0].reasons[0].startswith("ee-range: no window of 2 h between 2027-03-04T09:00:00+00:00")
    )
    with pytest.raises(InvalidInput, match="latest_end: leaves no room for the duration"):
        w.service.availability.search(TRAINER, SearchQuery(**{**query.__dict__, "latest_end": at(1)}))
