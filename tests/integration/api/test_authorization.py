"""Authorization, generated from the permission table (identity.permissions) over every operation of the
OpenAPI document: each operation names its action (`x-federange-action`), and is called by an admin and
by an operator, a trainer and a researcher of the organisation that owns the objects it names and of
another organisation. What the table allows must not be refused (no 401, no 403; no 404 for an object
the caller owns, shares or reaches as admin); what it does not allow must be refused (403, or 404 where
the object is not even visible). Objects that a call changes or removes are made afresh for each call.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import yaml

from orchestrator.api.actions import OPERATIONS
from orchestrator.api.contract import PUBLIC
from orchestrator.identity.permissions import Action, Scope, scopes
from orchestrator.identity.principals import Role
from scenarios import library
from tests.integration.catalogue.helpers import auth, create_org, issue

START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
END = START + timedelta(hours=2)
ROLES = (Role.OPERATOR, Role.TRAINER, Role.RESEARCHER)
_n = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_n)}-{uuid.uuid4().hex[:6]}"


@dataclass
class World:
    """Organisation X owns every object the calls name; Y is another organisation; both run ranges (so
    they may hold operators, trainers and researchers)."""

    http: httpx.Client
    admin: str
    orgs: dict[str, str]
    handles: dict[str, str]
    tokens: dict[tuple[str, Role], str]
    x_range: str
    x_approval_range: str

    def token(self, world: str, role: Role) -> str:
        return self.admin if role is Role.ADMIN else self.tokens[(world, role)]

    def call(self, token: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, headers=auth(token), **kwargs)

    def made(self, response: httpx.Response) -> dict[str, Any]:
        assert response.status_code in (200, 201), response.text
        body: dict[str, Any] = response.json()
        return body

    # -- fresh objects of X -----------------------------------------------------------------------
    def booking(self, *, approval: bool = False) -> dict[str, Any]:
        body = {
            "range": self.x_approval_range if approval else self.x_range,
            "demand": {"slots": 1},
            "start": START.isoformat(),
            "end": END.isoformat(),
            "hold": not approval,
        }
        return self.made(self.call(self.tokens[("x", Role.TRAINER)], "POST", "/api/v1/bookings", json=body))

    def exercise(self) -> dict[str, Any]:
        return self.made(
            self.call(self.tokens[("x", Role.TRAINER)], "POST", "/api/v1/exercises", json=exercise_body())
        )

    def environment(self) -> dict[str, Any]:
        body = {"scenario": "ctf-starter", "ttl_minutes": 60}
        return self.made(
            self.call(self.tokens[("x", Role.RESEARCHER)], "POST", "/api/v1/environments", json=body)
        )

    def pool(self) -> str:
        body = {"scenario": "ctf-starter", "min_ready": 0, "max_ready": 1}
        path = f"/api/v1/ranges/{self.x_range}/pools"
        return str(self.made(self.call(self.tokens[("x", Role.OPERATOR)], "POST", path, json=body))["id"])

    def maintenance(self) -> str:
        window = {
            "start": (END + timedelta(days=5)).isoformat(),
            "end": (END + timedelta(days=6)).isoformat(),
        }
        path = f"/api/v1/ranges/{self.x_range}/maintenance"
        return str(self.made(self.call(self.tokens[("x", Role.OPERATOR)], "POST", path, json=window))["id"])

    def foreign_token(self) -> str:
        body = {"name": unique("holder"), "organisation_id": self.orgs["x"], "role": "trainer"}
        return str(self.made(self.call(self.admin, "POST", "/api/v1/tokens", json=body))["id"])

    def quota(self) -> None:
        limit = {"cpu_millicores": 100_000_000, "memory_mib": 100_000_000, "slots": 1_000_000, "gpus": 0}
        self.made(self.call(self.admin, "PUT", f"/api/v1/organisations/{self.orgs['x']}/quota", json=limit))

    # -- federation ------------------------------------------------------------------------------
    def peer_org(self) -> str:
        body = {"name": unique("peer"), "country": "BE", "kind": "federation_peer"}
        return str(self.made(self.call(self.admin, "POST", "/api/v1/organisations", json=body))["id"])

    def peer_token(self, org: str) -> str:
        body = {"name": unique("peer"), "organisation_id": org, "role": "peer"}
        return str(self.made(self.call(self.admin, "POST", "/api/v1/tokens", json=body))["token"])

    def peer(self) -> str:
        """A peer added here: this very server, reached with a peer token it issued."""
        token = self.peer_token(self.peer_org())
        body = {"name": unique("p"), "base_url": str(self.http.base_url).rstrip("/"), "token": token}
        return str(self.made(self.call(self.admin, "POST", "/api/v1/peers", json=body))["name"])

    def peer_instance(self) -> str:
        """A peer's instance on x-range: published to a new peer, held, confirmed, deployed."""
        org = self.peer_org()
        token = self.peer_token(org)
        self.call(self.admin, "PUT", f"/api/v1/ranges/{self.x_range}/publications/{org}")
        key = unique("k")
        now = datetime.now(UTC)
        hold = self.made(
            self.call(
                token,
                "POST",
                "/federation/v1/holds",
                json={
                    "key": key,
                    "range": self.x_range,
                    "start": now.isoformat(),
                    "end": (now + timedelta(hours=1)).isoformat(),
                    "demand": {"slots": 1, "cpu_millicores": 1000, "memory_mib": 1024},
                },
            )
        )
        self.made(self.call(token, "POST", f"/federation/v1/holds/{hold['id']}/confirm"))
        instance_id = "p" + uuid.uuid4().hex[:10]
        self.made(
            self.call(
                token,
                "POST",
                "/federation/v1/instances",
                json={
                    "instance_id": instance_id,
                    "range": self.x_range,
                    "exercise": key,
                    "team": "red",
                    "scenario_document": scenario_document("x-lab"),
                },
            )
        )
        return instance_id


def exercise_body(**overrides: Any) -> dict[str, Any]:
    return {
        "name": unique("drill"),
        "scenario": "ctf-starter",
        "teams": [{"name": "red", "country": "EE"}],
        "start": START.isoformat(),
        "end": END.isoformat(),
        **overrides,
    }


def scenario_document(name: str, version: str = "1.0.0") -> str:
    data = yaml.safe_load(library.bundle("ctf-starter").text)
    data["metadata"]["name"] = name
    data["metadata"]["version"] = version
    return yaml.safe_dump(data, sort_keys=False)


@pytest.fixture
def world(http: httpx.Client, admin_token: str) -> World:
    orgs, handles, tokens = {}, {}, {}
    for key, (name, country) in {"x": ("X range operator", "EE"), "y": ("Y range operator", "LV")}.items():
        orgs[key] = create_org(http, admin_token, name, country, kind="range_operator")
        handles[key] = http.get(f"/api/v1/organisations/{orgs[key]}", headers=auth(admin_token)).json()[
            "handle"
        ]
        for role in ROLES:
            tokens[(key, role)] = issue(http, admin_token, orgs[key], role.value, f"{key}-{role.value}")
    w = World(
        http=http,
        admin=admin_token,
        orgs=orgs,
        handles=handles,
        tokens=tokens,
        x_range="x-range",
        x_approval_range="x-approval",
    )
    for slug, approval in (("x-range", False), ("x-approval", True)):
        body = {
            "slug": slug,
            "name": slug,
            "country": "EE",
            "capabilities": ["containers"],
            "capacity": {"cpu_millicores": 10_000_000, "memory_mib": 10_000_000, "slots": 10_000, "gpus": 0},
            "policy": {"approval_required": approval, "max_foreign_share": 1.0},
            "connector": {"kind": "fake", "config": {"world": unique(slug)}},
        }
        w.made(w.call(tokens[("x", Role.OPERATOR)], "POST", "/api/v1/ranges", json=body))
    w.made(
        w.call(
            tokens[("x", Role.TRAINER)],
            "POST",
            "/api/v1/scenarios",
            json={"document": scenario_document("x-lab")},
        )
    )
    return w


# -- how each operation is called ------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    """`path` with its parameters filled, `body`, and whose object it names: "x" (X's), "shared" (X's,
    shared with everyone), "holder" (held by one principal of X, no caller), or None (no object: a
    listing, or something made for the caller itself).
    `namespaced`: the caller's own name space is searched (a bare scenario name), so another
    organisation's caller is told 404 like a caller without the action."""

    path: str
    body: Any = None
    owner: str | None = "x"
    namespaced: bool = False
    params: dict[str, str] | None = None


Maker = Callable[[World], Call]
window = {"start": START.isoformat(), "end": END.isoformat()}
MAKERS: dict[tuple[str, str], Maker] = {
    ("get", "/api/v1/organisations"): lambda w: Call("/api/v1/organisations", owner=None),
    ("post", "/api/v1/organisations"): lambda w: Call(
        "/api/v1/organisations",
        {"name": unique("org"), "country": "EE", "kind": "training_provider"},
        owner=None,
    ),
    ("get", "/api/v1/organisations/{organisation_id}"): lambda w: Call(
        f"/api/v1/organisations/{w.orgs['x']}"
    ),
    ("get", "/api/v1/tokens"): lambda w: Call("/api/v1/tokens", owner=None),
    ("post", "/api/v1/tokens"): lambda w: Call(
        "/api/v1/tokens", {"name": unique("t"), "organisation_id": w.orgs["x"], "role": "trainer"}
    ),
    # Held by another principal of X: only its holder (or an admin) revokes a token.
    ("delete", "/api/v1/tokens/{token_id}"): lambda w: Call(
        f"/api/v1/tokens/{w.foreign_token()}", owner="holder"
    ),
    ("post", "/api/v1/ranges"): lambda w: Call(
        "/api/v1/ranges",
        {
            "slug": unique("r"),
            "name": "r",
            "country": "EE",
            "capacity": {"cpu_millicores": 1000, "memory_mib": 1024, "slots": 1},
            "connector": {"kind": "fake", "config": {"world": unique("w")}},
        },
        owner=None,
    ),
    ("get", "/api/v1/ranges"): lambda w: Call("/api/v1/ranges", owner=None),
    ("get", "/api/v1/ranges/{range_ref}"): lambda w: Call(f"/api/v1/ranges/{w.x_range}", owner="shared"),
    ("patch", "/api/v1/ranges/{range_ref}"): lambda w: Call(
        f"/api/v1/ranges/{w.x_range}", {"description": "new"}
    ),
    ("get", "/api/v1/ranges/{range_ref}/access"): lambda w: Call(f"/api/v1/ranges/{w.x_range}/access"),
    ("get", "/api/v1/ranges/{range_ref}/maintenance"): lambda w: Call(
        f"/api/v1/ranges/{w.x_range}/maintenance", owner="shared"
    ),
    ("post", "/api/v1/ranges/{range_ref}/maintenance"): lambda w: Call(
        f"/api/v1/ranges/{w.x_range}/maintenance",
        {"start": (END + timedelta(days=9)).isoformat(), "end": (END + timedelta(days=10)).isoformat()},
    ),
    ("delete", "/api/v1/ranges/{range_ref}/maintenance/{maintenance_id}"): lambda w: Call(
        f"/api/v1/ranges/{w.x_range}/maintenance/{w.maintenance()}"
    ),
    ("get", "/api/v1/ranges/{range_ref}/availability"): lambda w: Call(
        f"/api/v1/ranges/{w.x_range}/availability", owner="shared", params=window
    ),
    ("post", "/api/v1/availability/search"): lambda w: Call(
        "/api/v1/availability/search",
        {
            "demand": {"slots": 1},
            "duration_minutes": 60,
            "earliest_start": window["start"],
            "latest_end": window["end"],
        },
        owner=None,
    ),
    ("get", "/api/v1/audit"): lambda w: Call("/api/v1/audit", owner=None),
    ("get", "/api/v1/scenarios"): lambda w: Call("/api/v1/scenarios", owner=None),
    ("post", "/api/v1/scenarios"): lambda w: Call(
        "/api/v1/scenarios", {"document": scenario_document(unique("lab"))}, owner=None
    ),
    ("get", "/api/v1/scenarios/{name}"): lambda w: Call("/api/v1/scenarios/x-lab", namespaced=True),
    ("get", "/api/v1/scenarios/{name}/versions/{version}"): lambda w: Call(
        "/api/v1/scenarios/x-lab/versions/1.0.0", namespaced=True
    ),
    ("get", "/api/v1/scenarios/{owner}/{name}"): lambda w: Call(f"/api/v1/scenarios/{w.handles['x']}/x-lab"),
    ("get", "/api/v1/scenarios/{owner}/{name}/versions/{version}"): lambda w: Call(
        f"/api/v1/scenarios/{w.handles['x']}/x-lab/versions/1.0.0"
    ),
    ("put", "/api/v1/scenarios/{name}/sharing"): lambda w: Call(
        "/api/v1/scenarios/x-lab/sharing", {"organisations": [], "everyone": False}, namespaced=True
    ),
    ("post", "/api/v1/exercises/plan"): lambda w: Call("/api/v1/exercises/plan", exercise_body(), owner=None),
    ("post", "/api/v1/exercises"): lambda w: Call("/api/v1/exercises", exercise_body(), owner=None),
    ("get", "/api/v1/exercises"): lambda w: Call("/api/v1/exercises", owner=None),
    ("get", "/api/v1/exercises/{exercise_id}"): lambda w: Call(f"/api/v1/exercises/{w.exercise()['id']}"),
    ("get", "/api/v1/exercises/{exercise_id}/access"): lambda w: Call(
        f"/api/v1/exercises/{w.exercise()['id']}/access"
    ),
    ("post", "/api/v1/exercises/{exercise_id}/team-links"): lambda w: Call(
        f"/api/v1/exercises/{w.exercise()['id']}/team-links"
    ),
    ("post", "/api/v1/exercises/{exercise_id}/cancel"): lambda w: Call(
        f"/api/v1/exercises/{w.exercise()['id']}/cancel"
    ),
    ("post", "/api/v1/exercises/{exercise_id}/extend"): lambda w: Call(
        f"/api/v1/exercises/{w.exercise()['id']}/extend", {"end": (END + timedelta(hours=1)).isoformat()}
    ),
    ("post", "/api/v1/exercises/{exercise_id}/teams/{team}/retry"): lambda w: Call(
        f"/api/v1/exercises/{w.exercise()['id']}/teams/red/retry"
    ),
    ("post", "/api/v1/environments"): lambda w: Call(
        "/api/v1/environments", {"scenario": "ctf-starter", "ttl_minutes": 30}, owner=None
    ),
    ("get", "/api/v1/environments"): lambda w: Call("/api/v1/environments", owner=None),
    ("get", "/api/v1/environments/{environment_id}"): lambda w: Call(
        f"/api/v1/environments/{w.environment()['id']}"
    ),
    ("delete", "/api/v1/environments/{environment_id}"): lambda w: Call(
        f"/api/v1/environments/{w.environment()['id']}"
    ),
    ("get", "/api/v1/environments/{environment_id}/access"): lambda w: Call(
        f"/api/v1/environments/{w.environment()['id']}/access"
    ),
    ("post", "/api/v1/environments/{environment_id}/renew"): lambda w: Call(
        f"/api/v1/environments/{w.environment()['id']}/renew", {"minutes": 30}
    ),
    ("post", "/api/v1/ranges/{range_ref}/pools"): lambda w: Call(
        f"/api/v1/ranges/{w.x_range}/pools", {"scenario": "ctf-starter", "min_ready": 0, "max_ready": 1}
    ),
    ("get", "/api/v1/ranges/{range_ref}/pools"): lambda w: Call(f"/api/v1/ranges/{w.x_range}/pools"),
    ("get", "/api/v1/pools/{pool_id}"): lambda w: Call(f"/api/v1/pools/{w.pool()}"),
    ("patch", "/api/v1/pools/{pool_id}"): lambda w: Call(f"/api/v1/pools/{w.pool()}", {"min_ready": 1}),
    ("delete", "/api/v1/pools/{pool_id}"): lambda w: Call(f"/api/v1/pools/{w.pool()}"),
    ("post", "/api/v1/bookings"): lambda w: Call(
        "/api/v1/bookings", {"range": w.x_range, "demand": {"slots": 1}, **window}, owner=None
    ),
    ("get", "/api/v1/bookings"): lambda w: Call("/api/v1/bookings", owner=None),
    ("get", "/api/v1/bookings/{booking_id}"): lambda w: Call(
        f"/api/v1/bookings/{w.booking()['bookings'][0]['id']}"
    ),
    ("get", "/api/v1/booking-requests/{request_id}"): lambda w: Call(
        f"/api/v1/booking-requests/{w.booking()['request_id']}"
    ),
    ("post", "/api/v1/bookings/{booking_id}/approve"): lambda w: Call(
        f"/api/v1/bookings/{w.booking(approval=True)['bookings'][0]['id']}/approve"
    ),
    ("post", "/api/v1/bookings/{booking_id}/decline"): lambda w: Call(
        f"/api/v1/bookings/{w.booking(approval=True)['bookings'][0]['id']}/decline", {"reason": "no"}
    ),
    ("get", "/api/v1/organisations/{organisation_id}/quota"): lambda w: Call(
        f"/api/v1/organisations/{w.orgs['x']}/quota"
    ),
    ("put", "/api/v1/organisations/{organisation_id}/quota"): lambda w: Call(
        f"/api/v1/organisations/{w.orgs['x']}/quota",
        {"cpu_millicores": 100_000_000, "memory_mib": 100_000_000, "slots": 1_000_000},
    ),
    ("delete", "/api/v1/organisations/{organisation_id}/quota"): lambda w: (
        w.quota(),
        Call(f"/api/v1/organisations/{w.orgs['x']}/quota"),
    )[1],
}
_HOLD = {"key": "k-1", "range": "x-range", **window, "demand": {"slots": 1}}
_INSTANCE = {
    "instance_id": "x123",
    "range": "x-range",
    "exercise": "k-1",
    "team": "red",
    "scenario_document": "x",
}
MAKERS.update(
    {
        ("get", "/api/v1/ranges/{range_ref}/publications"): lambda w: Call(
            f"/api/v1/ranges/{w.x_range}/publications"
        ),
        ("put", "/api/v1/ranges/{range_ref}/publications/{organisation_id}"): lambda w: Call(
            f"/api/v1/ranges/{w.x_range}/publications/{w.peer_org()}"
        ),
        ("delete", "/api/v1/ranges/{range_ref}/publications/{organisation_id}"): lambda w: Call(
            f"/api/v1/ranges/{w.x_range}/publications/{w.peer_org()}"
        ),
        ("get", "/api/v1/ranges/{range_ref}/peer-instances"): lambda w: Call(
            f"/api/v1/ranges/{w.x_range}/peer-instances"
        ),
        ("post", "/api/v1/ranges/{range_ref}/peer-instances/{instance_id}/stop"): lambda w: Call(
            f"/api/v1/ranges/{w.x_range}/peer-instances/{w.peer_instance()}/stop", {"reason": "drill"}
        ),
        ("post", "/api/v1/peers"): lambda w: Call(
            "/api/v1/peers", {"name": unique("p"), "base_url": "http://127.0.0.1:9", "token": "t"}, owner=None
        ),
        ("get", "/api/v1/peers"): lambda w: Call("/api/v1/peers", owner=None),
        ("post", "/api/v1/peers/{peer_ref}/sync"): lambda w: Call(
            f"/api/v1/peers/{w.peer()}/sync", owner=None
        ),
        # Only peers reach the federation API: every role here is refused, whatever the call names.
        ("get", "/federation/v1"): lambda w: Call("/federation/v1", owner=None),
        ("get", "/federation/v1/ranges"): lambda w: Call("/federation/v1/ranges", owner=None),
        ("get", "/federation/v1/ranges/{range_ref}"): lambda w: Call(
            f"/federation/v1/ranges/{w.x_range}", owner=None
        ),
        ("get", "/federation/v1/ranges/{range_ref}/availability"): lambda w: Call(
            f"/federation/v1/ranges/{w.x_range}/availability", owner=None, params=window
        ),
        ("post", "/federation/v1/holds"): lambda w: Call("/federation/v1/holds", _HOLD, owner=None),
        ("get", "/federation/v1/holds"): lambda w: Call(
            "/federation/v1/holds", owner=None, params={"key": "k-1"}
        ),
        ("get", "/federation/v1/holds/{hold_id}"): lambda w: Call("/federation/v1/holds/h-1", owner=None),
        ("post", "/federation/v1/holds/{hold_id}/confirm"): lambda w: Call(
            "/federation/v1/holds/h-1/confirm", owner=None
        ),
        ("post", "/federation/v1/holds/{hold_id}/release"): lambda w: Call(
            "/federation/v1/holds/h-1/release", owner=None
        ),
        ("post", "/federation/v1/holds/{hold_id}/renew"): lambda w: Call(
            "/federation/v1/holds/h-1/renew", {"end": window["end"]}, owner=None
        ),
        ("post", "/federation/v1/instances"): lambda w: Call(
            "/federation/v1/instances", _INSTANCE, owner=None
        ),
        ("get", "/federation/v1/instances"): lambda w: Call("/federation/v1/instances", owner=None),
        ("get", "/federation/v1/instances/{instance_id}"): lambda w: Call(
            "/federation/v1/instances/x123", owner=None
        ),
        ("delete", "/federation/v1/instances/{instance_id}"): lambda w: Call(
            "/federation/v1/instances/x123", owner=None
        ),
    }
)
for _kind, _param in (("bookings", "booking_id"), ("booking-requests", "request_id")):
    for _verb in ("confirm", "renew", "cancel", "activate", "release"):
        _body = {"end": (END + timedelta(hours=1)).isoformat()} if _verb == "renew" else None

        def _maker(w: World, kind: str = _kind, verb: str = _verb, body: Any = _body) -> Call:
            made = w.booking()
            target = made["bookings"][0]["id"] if kind == "bookings" else made["request_id"]
            return Call(f"/api/v1/{kind}/{target}/{verb}", body)

        MAKERS[("post", f"/api/v1/{_kind}/{{{_param}}}/{_verb}")] = _maker


def relation(role: Role, world: str, call: Call) -> str | None:
    """The caller's relation to the object the call names: own, shared, foreign, or None (no object)."""
    if call.owner is None:
        return None
    if call.owner == "holder":  # somebody else's token, whoever calls
        return "foreign"
    if role is Role.ADMIN:  # the admin's organisation is the federation's agency, not X
        return "shared" if call.owner == "shared" else "foreign"
    if world == "x":
        return "own"
    return "shared" if call.owner == "shared" else "foreign"


def allowed(role: Role, action: Action, rel: str | None) -> bool:
    reach = scopes(role, action)
    if not reach:
        return False
    if rel is None or Scope.ANY in reach:
        return True
    return (rel == "own" and bool(reach & {Scope.OWN, Scope.OPERATED})) or (
        rel == "shared" and Scope.SHARED in reach
    )


def test_every_operation_names_its_action(http: httpx.Client) -> None:
    document = http.get("/openapi.json").json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path in PUBLIC:
                continue
            assert (method, path) in OPERATIONS, f"{method.upper()} {path} names no action"
            assert operation["x-federange-action"] == OPERATIONS[(method, path)].value
            assert "Permission `" in operation["description"]
            assert (method, path) in MAKERS, f"the authorization test cannot call {method.upper()} {path}"


def test_every_operation_obeys_the_permission_table_for_every_role(world: World, database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("the table is the same on every database; SQLite keeps this long walk quick")
    failures = []
    for (method, path), make in sorted(MAKERS.items()):
        action = OPERATIONS[(method, path)]
        callers = [(Role.ADMIN, "agency")] + [(role, w) for role in ROLES for w in ("x", "y")]
        for role, where in callers:
            call = make(world)
            rel = relation(role, where, call)
            expected = allowed(role, action, rel)
            response = world.call(
                world.token(where, role), method.upper(), call.path, json=call.body, params=call.params
            )
            status = response.status_code
            if expected:
                visible = rel in ("own", "shared") or Scope.ANY in scopes(role, action)
                bad = status in (401, 403) or (status == 404 and visible and not call.namespaced)
            else:
                bad = status not in (403, 404)
            if bad:
                failures.append(
                    f"{method.upper()} {call.path} as {role.value} of {where} ({action}, {rel}): expected "
                    f"{'allowed' if expected else 'refused'}, got {status} {response.text[:200]}"
                )
    assert not failures, "\n".join(failures)
