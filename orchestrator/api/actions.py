"""Which action of the permission table (identity.permissions) each API operation takes.

The OpenAPI document names it on every operation (`x-federange-action`) with the roles that may take it,
and the generated authorization test drives every operation with every role from this map.
"""

from __future__ import annotations

from collections.abc import Mapping

from orchestrator.identity.permissions import Action

A = Action
OPERATIONS: Mapping[tuple[str, str], Action] = {
    ("get", "/api/v1/organisations"): A.ORGANISATION_READ,
    ("post", "/api/v1/organisations"): A.ORGANISATION_CREATE,
    ("get", "/api/v1/organisations/{organisation_id}"): A.ORGANISATION_READ,
    ("get", "/api/v1/tokens"): A.TOKEN_LIST,
    ("post", "/api/v1/tokens"): A.TOKEN_ISSUE,
    ("delete", "/api/v1/tokens/{token_id}"): A.TOKEN_REVOKE,
    ("post", "/api/v1/ranges"): A.RANGE_REGISTER,
    ("get", "/api/v1/ranges"): A.RANGE_READ,
    ("get", "/api/v1/ranges/{range_ref}"): A.RANGE_READ,
    ("patch", "/api/v1/ranges/{range_ref}"): A.RANGE_MANAGE,
    ("get", "/api/v1/ranges/{range_ref}/access"): A.RANGE_MANAGE,
    ("get", "/api/v1/ranges/{range_ref}/maintenance"): A.RANGE_READ,
    ("post", "/api/v1/ranges/{range_ref}/maintenance"): A.RANGE_MANAGE,
    ("delete", "/api/v1/ranges/{range_ref}/maintenance/{maintenance_id}"): A.RANGE_MANAGE,
    ("get", "/api/v1/ranges/{range_ref}/availability"): A.AVAILABILITY_READ,
    ("post", "/api/v1/availability/search"): A.AVAILABILITY_READ,
    ("get", "/api/v1/audit"): A.AUDIT_READ,
    ("get", "/api/v1/scenarios"): A.SCENARIO_READ,
    ("post", "/api/v1/scenarios"): A.SCENARIO_UPLOAD,
    ("get", "/api/v1/scenarios/{name}"): A.SCENARIO_READ,
    ("get", "/api/v1/scenarios/{name}/versions/{version}"): A.SCENARIO_READ,
    ("get", "/api/v1/scenarios/{owner}/{name}"): A.SCENARIO_READ,
    ("get", "/api/v1/scenarios/{owner}/{name}/versions/{version}"): A.SCENARIO_READ,
    ("put", "/api/v1/scenarios/{name}/sharing"): A.SCENARIO_SHARE,
    ("post", "/api/v1/exercises/plan"): A.EXERCISE_CREATE,
    ("post", "/api/v1/exercises"): A.EXERCISE_CREATE,
    ("get", "/api/v1/exercises"): A.EXERCISE_READ,
    ("get", "/api/v1/exercises/{exercise_id}"): A.EXERCISE_READ,
    ("get", "/api/v1/exercises/{exercise_id}/access"): A.ACCESS_READ,
    ("post", "/api/v1/exercises/{exercise_id}/team-links"): A.ACCESS_READ,
    ("post", "/api/v1/exercises/{exercise_id}/cancel"): A.EXERCISE_CHANGE,
    ("post", "/api/v1/exercises/{exercise_id}/extend"): A.EXERCISE_CHANGE,
    ("post", "/api/v1/exercises/{exercise_id}/teams/{team}/retry"): A.EXERCISE_CHANGE,
    ("post", "/api/v1/environments"): A.ENVIRONMENT_LAUNCH,
    ("get", "/api/v1/environments"): A.ENVIRONMENT_READ,
    ("get", "/api/v1/environments/{environment_id}"): A.ENVIRONMENT_READ,
    ("delete", "/api/v1/environments/{environment_id}"): A.ENVIRONMENT_CHANGE,
    ("get", "/api/v1/environments/{environment_id}/access"): A.ACCESS_READ,
    ("post", "/api/v1/environments/{environment_id}/renew"): A.ENVIRONMENT_CHANGE,
    ("post", "/api/v1/ranges/{range_ref}/pools"): A.POOL_MANAGE,
    ("get", "/api/v1/ranges/{range_ref}/pools"): A.POOL_READ,
    ("get", "/api/v1/pools/{pool_id}"): A.POOL_READ,
    ("patch", "/api/v1/pools/{pool_id}"): A.POOL_MANAGE,
    ("delete", "/api/v1/pools/{pool_id}"): A.POOL_MANAGE,
    ("post", "/api/v1/bookings"): A.BOOKING_CREATE,
    ("get", "/api/v1/bookings"): A.BOOKING_READ,
    ("get", "/api/v1/bookings/{booking_id}"): A.BOOKING_READ,
    ("get", "/api/v1/booking-requests/{request_id}"): A.BOOKING_READ,
    ("post", "/api/v1/bookings/{booking_id}/approve"): A.BOOKING_DECIDE,
    ("post", "/api/v1/bookings/{booking_id}/decline"): A.BOOKING_DECIDE,
    **{
        ("post", f"/api/v1/{kind}/{{{param}}}/{verb}"): A.BOOKING_CHANGE
        for kind, param in (("bookings", "booking_id"), ("booking-requests", "request_id"))
        for verb in ("confirm", "renew", "cancel", "activate", "release")
    },
    ("get", "/api/v1/organisations/{organisation_id}/quota"): A.QUOTA_READ,
    ("put", "/api/v1/organisations/{organisation_id}/quota"): A.QUOTA_SET,
    ("delete", "/api/v1/organisations/{organisation_id}/quota"): A.QUOTA_SET,
    ("get", "/api/v1/ranges/{range_ref}/publications"): A.PUBLICATION_MANAGE,
    ("put", "/api/v1/ranges/{range_ref}/publications/{organisation_id}"): A.PUBLICATION_MANAGE,
    ("delete", "/api/v1/ranges/{range_ref}/publications/{organisation_id}"): A.PUBLICATION_MANAGE,
    ("get", "/api/v1/ranges/{range_ref}/peer-instances"): A.INSTANCE_STOP,
    ("post", "/api/v1/ranges/{range_ref}/peer-instances/{instance_id}/stop"): A.INSTANCE_STOP,
    ("post", "/api/v1/peers"): A.PEER_MANAGE,
    ("get", "/api/v1/peers"): A.PEER_MANAGE,
    ("post", "/api/v1/peers/{peer_ref}/sync"): A.PEER_MANAGE,
    ("get", "/federation/v1"): A.FEDERATION_READ,
    ("get", "/federation/v1/ranges"): A.FEDERATION_READ,
    ("get", "/federation/v1/ranges/{range_ref}"): A.FEDERATION_READ,
    ("get", "/federation/v1/ranges/{range_ref}/availability"): A.FEDERATION_READ,
    ("post", "/federation/v1/holds"): A.FEDERATION_BOOK,
    ("get", "/federation/v1/holds"): A.FEDERATION_BOOK,
    ("get", "/federation/v1/holds/{hold_id}"): A.FEDERATION_BOOK,
    **{
        ("post", f"/federation/v1/holds/{{hold_id}}/{verb}"): A.FEDERATION_BOOK
        for verb in ("confirm", "release", "renew")
    },
    ("post", "/federation/v1/instances"): A.FEDERATION_DEPLOY,
    ("get", "/federation/v1/instances"): A.FEDERATION_DEPLOY,
    ("get", "/federation/v1/instances/{instance_id}"): A.FEDERATION_DEPLOY,
    ("delete", "/federation/v1/instances/{instance_id}"): A.FEDERATION_DEPLOY,
}
