"""A small federation over HTTP for booking tests: organisations, operators, trainers, two ranges."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.integration.catalogue.helpers import auth, create_org, issue, range_body


@dataclass(frozen=True)
class Federation:
    admin: str
    ee_org: str
    fi_org: str
    school_org: str
    de_org: str
    ee_ops: str
    fi_ops: str
    #: A trainer of the FI range's operating organisation: books (its operators decide, they do not book).
    fi_staff: str
    trainer: str
    de_trainer: str


def federation(http: httpx.Client, admin: str, *, fi_policy: dict[str, Any] | None = None) -> Federation:
    ee_org = create_org(http, admin, "RIA Estonia", "EE")
    fi_org = create_org(http, admin, "JYVSECTEC", "FI")
    school_org = create_org(http, admin, "Tallinn school", "EE", kind="training_provider")
    de_org = create_org(http, admin, "Berlin lab", "DE", kind="training_provider")
    fed = Federation(
        admin=admin,
        ee_org=ee_org,
        fi_org=fi_org,
        school_org=school_org,
        de_org=de_org,
        ee_ops=issue(http, admin, ee_org, "operator", "ee-ops"),
        fi_ops=issue(http, admin, fi_org, "operator", "fi-ops"),
        fi_staff=issue(http, admin, fi_org, "trainer", "fi-staff"),
        trainer=issue(http, admin, school_org, "trainer", "ee-trainer"),
        de_trainer=issue(http, admin, de_org, "trainer", "de-trainer"),
    )
    ee = range_body(
        "ee-range",
        capacity={"cpu_millicores": 64000, "memory_mib": 131072, "slots": 20, "gpus": 0},
        policy={"allowed_countries": ["EE", "FI"], "max_foreign_share": 0.5, "max_booking_minutes": None},
    )
    fi = range_body(
        "fi-range",
        country="FI",
        capacity={"cpu_millicores": 16000, "memory_mib": 32768, "slots": 8, "gpus": 2},
        policy={"max_foreign_share": 1.0, "max_booking_minutes": None, **(fi_policy or {})},
    )
    for body, token in ((ee, fed.ee_ops), (fi, fed.fi_ops)):
        created = http.post("/api/v1/ranges", json=body, headers=auth(token))
        assert created.status_code == 201, created.text
    return fed


def demand(cpu: int = 0, memory: int = 0, slots: int = 0, gpus: int = 0) -> dict[str, int]:
    return {"cpu_millicores": cpu, "memory_mib": memory, "slots": slots, "gpus": gpus}


def book(http: httpx.Client, token: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return http.post("/api/v1/bookings", json=body, headers={**auth(token), **headers})
