"""The permission table: which role may take which action, on whose objects. One table for the whole
service; the use cases ask it (`require`), the API documents it (each operation names its action, see
orchestrator/api/contract.py) and a test generated from it drives every operation with every role.

Scopes say whose objects a role reaches:
- `ANY`       any organisation's (admins);
- `OWN`       its own organisation's;
- `OPERATED`  what lies on the ranges its organisation operates (an operator's view of bookings on its
              ranges, its approval queue, its audit log);
- `SHARED`    what another organisation shares with it: ranges whose sharing policy admits its
              organisation or country, scenarios shared with it;
- `PUBLISHED` the ranges published to it (a federation peer: another Federange instance), and the
              bookings and instances it made on them through the federation API.

A peer's token reaches only the federation API (/federation/v1); there it books for its own
organisation, under the sharing policy the home instance applies to that organisation and its country.

A principal's role must also fit its organisation's kind (`ROLES_BY_KIND`): an operator belongs to a range
operator (or the federation's agency), a trainer to an organisation that trains, and so on; tokens are
issued only for a role that fits.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from orchestrator.domain.errors import Forbidden
from orchestrator.domain.ranges import OrganisationKind
from orchestrator.identity.principals import Principal, Role


class Scope(enum.StrEnum):
    ANY = "any organisation"
    OWN = "its own organisation"
    OPERATED = "the ranges it operates"
    SHARED = "what is shared with it"
    PUBLISHED = "the ranges published to it"


class Action(enum.StrEnum):
    ORGANISATION_CREATE = "organisation.create"
    ORGANISATION_READ = "organisation.read"
    TOKEN_ISSUE = "token.issue"  # noqa: S105 - an action name, not a secret
    TOKEN_LIST = "token.list"  # noqa: S105 - an action name, not a secret
    TOKEN_REVOKE = "token.revoke"  # noqa: S105 - an action name, not a secret
    AUDIT_READ = "audit.read"
    RANGE_READ = "range.read"
    RANGE_REGISTER = "range.register"
    RANGE_MANAGE = "range.manage"
    SCENARIO_READ = "scenario.read"
    SCENARIO_UPLOAD = "scenario.upload"
    SCENARIO_SHARE = "scenario.share"
    AVAILABILITY_READ = "availability.read"
    BOOKING_CREATE = "booking.create"
    BOOKING_READ = "booking.read"
    BOOKING_CHANGE = "booking.change"
    BOOKING_DECIDE = "booking.decide"
    QUOTA_READ = "quota.read"
    QUOTA_SET = "quota.set"
    EXERCISE_CREATE = "exercise.create"
    EXERCISE_READ = "exercise.read"
    EXERCISE_CHANGE = "exercise.change"
    ENVIRONMENT_LAUNCH = "environment.launch"
    ENVIRONMENT_READ = "environment.read"
    ENVIRONMENT_CHANGE = "environment.change"
    ACCESS_READ = "access.read"
    POOL_READ = "pool.read"
    POOL_MANAGE = "pool.manage"
    PUBLICATION_MANAGE = "publication.manage"
    PEER_MANAGE = "peer.manage"
    FEDERATION_READ = "federation.read"
    FEDERATION_BOOK = "federation.book"
    FEDERATION_DEPLOY = "federation.deploy"
    INSTANCE_STOP = "instance.stop"


#: What each action is, in words that fit "<doing> needs ...".
DOING: Mapping[Action, str] = {
    Action.ORGANISATION_CREATE: "creating an organisation",
    Action.ORGANISATION_READ: "reading organisations",
    Action.TOKEN_ISSUE: "issuing tokens",
    Action.TOKEN_LIST: "listing tokens",
    Action.TOKEN_REVOKE: "revoking a token",
    Action.AUDIT_READ: "reading the audit log",
    Action.RANGE_READ: "reading the range catalogue",
    Action.RANGE_REGISTER: "registering a range",
    Action.RANGE_MANAGE: "changing a range (its settings, maintenance)",
    Action.SCENARIO_READ: "reading scenarios",
    Action.SCENARIO_UPLOAD: "uploading scenarios",
    Action.SCENARIO_SHARE: "sharing scenarios",
    Action.AVAILABILITY_READ: "reading availability",
    Action.BOOKING_CREATE: "booking capacity",
    Action.BOOKING_READ: "reading bookings",
    Action.BOOKING_CHANGE: "changing a booking (confirm, renew, cancel, release, activate)",
    Action.BOOKING_DECIDE: "approving or declining bookings",
    Action.QUOTA_READ: "reading quotas",
    Action.QUOTA_SET: "setting quotas",
    Action.EXERCISE_CREATE: "scheduling exercises",
    Action.EXERCISE_READ: "reading exercises",
    Action.EXERCISE_CHANGE: "changing exercises (cancel, extend, retry)",
    Action.ENVIRONMENT_LAUNCH: "launching environments",
    Action.ENVIRONMENT_READ: "reading environments",
    Action.ENVIRONMENT_CHANGE: "changing environments (renew, destroy)",
    Action.ACCESS_READ: "reading access details (endpoints and credentials)",
    Action.POOL_READ: "reading warm pools",
    Action.POOL_MANAGE: "managing warm pools (create, resize, delete)",
    Action.PUBLICATION_MANAGE: "publishing a range to a peer (or withdrawing it)",
    Action.PEER_MANAGE: "adding, syncing or listing peers (other Federange instances)",
    Action.FEDERATION_READ: "reading published ranges and their availability (federation API)",
    Action.FEDERATION_BOOK: "holding, confirming, renewing or releasing capacity (federation API)",
    Action.FEDERATION_DEPLOY: "deploying, reading or tearing down instances (federation API)",
    Action.INSTANCE_STOP: "stopping a peer's instance on the operator's range (emergency stop)",
}

A, OP, T, R, P = Role.ADMIN, Role.OPERATOR, Role.TRAINER, Role.RESEARCHER, Role.PEER
ANY, OWN, OPERATED = frozenset({Scope.ANY}), frozenset({Scope.OWN}), frozenset({Scope.OWN, Scope.OPERATED})
SHARED = frozenset({Scope.OWN, Scope.SHARED})
PUBLISHED = frozenset({Scope.PUBLISHED})
EVERYONE = {A: ANY, OP: OWN, T: OWN, R: OWN}
ALL_SHARED = {A: ANY, OP: SHARED, T: SHARED, R: SHARED}

#: role -> the scopes it reaches, per action (a role missing from an action may not take it).
PERMISSIONS: Mapping[Action, Mapping[Role, frozenset[Scope]]] = {
    Action.ORGANISATION_CREATE: {A: ANY},
    # The members of the federation are known to every member.
    Action.ORGANISATION_READ: {A: ANY, OP: ANY, T: ANY, R: ANY},
    Action.TOKEN_ISSUE: {A: ANY},
    Action.TOKEN_LIST: {A: ANY},
    # Anyone revokes the token it holds (checked on the token: `own` is the holder, not the organisation).
    Action.TOKEN_REVOKE: EVERYONE,
    Action.AUDIT_READ: {A: ANY, OP: OPERATED},
    Action.RANGE_READ: ALL_SHARED,
    Action.RANGE_REGISTER: {A: ANY, OP: OWN},
    Action.RANGE_MANAGE: {A: ANY, OP: OWN},
    Action.SCENARIO_READ: ALL_SHARED,
    Action.SCENARIO_UPLOAD: {A: ANY, T: OWN},
    Action.SCENARIO_SHARE: {A: ANY, T: OWN},
    Action.AVAILABILITY_READ: ALL_SHARED,
    # Operators run their ranges and decide on bookings; they do not book on behalf of others.
    # Researchers book through environments; raw bookings only where a range's policy allows them.
    # A peer books for its own organisation, through the federation API only (on the ranges published
    # to it: FEDERATION_BOOK).
    Action.BOOKING_CREATE: {A: ANY, T: OWN, R: OWN, P: OWN},
    Action.BOOKING_READ: {A: ANY, OP: OPERATED, T: OWN, R: OWN, P: OWN},
    Action.BOOKING_CHANGE: {A: ANY, T: OWN, R: OWN, P: OWN},
    Action.BOOKING_DECIDE: {A: ANY, OP: frozenset({Scope.OPERATED})},
    Action.QUOTA_READ: EVERYONE,
    Action.QUOTA_SET: {A: ANY},
    Action.EXERCISE_CREATE: {A: ANY, T: OWN},
    Action.EXERCISE_READ: {A: ANY, T: OWN, R: OWN},
    Action.EXERCISE_CHANGE: {A: ANY, T: OWN},
    Action.ENVIRONMENT_LAUNCH: {A: ANY, T: OWN, R: OWN},
    Action.ENVIRONMENT_READ: {A: ANY, T: OWN, R: OWN},
    Action.ENVIRONMENT_CHANGE: {A: ANY, T: OWN, R: OWN},
    # Live credentials of running instances: only the organisation that runs them, not even an admin.
    Action.ACCESS_READ: {A: OWN, T: OWN, R: OWN},
    # Warm pools are kept by the operators of the range they sit on (their organisation owns the pool's
    # booking); environments claim from them through ENVIRONMENT_LAUNCH.
    Action.POOL_READ: {A: ANY, OP: frozenset({Scope.OPERATED})},
    Action.POOL_MANAGE: {A: ANY, OP: frozenset({Scope.OPERATED})},
    # Publishing: the range's operators decide which peers see it.
    Action.PUBLICATION_MANAGE: {A: ANY, OP: OWN},
    # Adding a peer gives the federation a new member's ranges: the federation's admins.
    Action.PEER_MANAGE: {A: ANY},
    Action.FEDERATION_READ: {P: PUBLISHED},
    Action.FEDERATION_BOOK: {P: PUBLISHED},
    Action.FEDERATION_DEPLOY: {P: PUBLISHED},
    Action.INSTANCE_STOP: {A: ANY, OP: OPERATED},
}

#: The roles a principal of each kind of organisation may hold.
ROLES_BY_KIND: Mapping[OrganisationKind, frozenset[Role]] = {
    OrganisationKind.AGENCY: frozenset({A, OP, T, R}),
    OrganisationKind.RANGE_OPERATOR: frozenset({OP, T, R}),
    OrganisationKind.TRAINING_PROVIDER: frozenset({T, R}),
    OrganisationKind.RESEARCH: frozenset({R}),
    OrganisationKind.FEDERATION_PEER: frozenset({P}),
}


def scopes(role: Role, action: Action) -> frozenset[Scope]:
    """Whose objects `role` reaches with `action` (empty: it may not take it at all)."""
    return PERMISSIONS[action].get(role, frozenset())


def describe(action: Action) -> str:
    """Who may take `action`, in words ("admin (any organisation), trainer (its own organisation)")."""
    return ", ".join(
        f"{role.value} ({', '.join(sorted(s.value for s in reach))})"
        for role, reach in PERMISSIONS[action].items()
    )


def require(
    actor: Principal, action: Action, *, owner: str | None = None, operator: str | None = None
) -> None:
    """Refuse (Forbidden, saying who may) unless the actor's role may take `action` on an object of
    organisation `owner` (None: no particular object yet) on a range operated by `operator`."""
    reach = scopes(actor.role, action)
    if not reach:
        raise Forbidden(
            f"{DOING[action]} needs role {describe(action)}; '{actor.name}' is {actor.role.value}"
        )
    if owner is None and operator is None:
        return
    if Scope.ANY in reach:
        return
    if Scope.OWN in reach and owner is not None and owner == actor.organisation_id:
        return
    if Scope.OPERATED in reach and operator is not None and operator == actor.organisation_id:
        return
    raise Forbidden(
        f"{DOING[action]}: this belongs to another organisation; a {actor.role.value} reaches "
        f"{' and '.join(sorted(s.value for s in reach))}"
    )


def role_fits(role: Role, kind: OrganisationKind) -> str | None:
    """None when an organisation of `kind` may hold principals of `role`, else the reason it may not."""
    allowed = ROLES_BY_KIND[kind]
    if role in allowed:
        return None
    return (
        f"a {kind.value.replace('_', ' ')} organisation holds {', '.join(sorted(r.value for r in allowed))} "
        f"principals, not {role.value}"
    )


def markdown_table() -> str:
    """The table as docs/security.md shows it: one row per action, one column per role ("-": may not)."""
    roles = list(Role)
    short = {
        Scope.ANY: "any",
        Scope.OWN: "own",
        Scope.OPERATED: "operated",
        Scope.SHARED: "shared",
        Scope.PUBLISHED: "published",
    }
    order = list(Scope)
    lines = [
        "| action | what it is | " + " | ".join(r.value for r in roles) + " |",
        "|---" * (len(roles) + 2) + "|",
    ]
    for action in Action:
        reach = [sorted(scopes(role, action), key=order.index) for role in roles]
        cells = [" + ".join(short[s] for s in r) or "-" for r in reach]
        lines.append(f"| `{action.value}` | {DOING[action]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
