"""Console pages for trainers and researchers: the exercise wizard with its placement preview, an
exercise's page (per-team progress, polled; retry, extend, cancel; access table, team links, the printable
access sheet), researchers' environments, and a team's own access page through its team link."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import FormData
from starlette.responses import Response

from orchestrator.api.console.render import (
    PAGE_HEADERS,
    ConsolePrincipal,
    ConsoleRoute,
    FormDep,
    page,
    see_other,
    utc,
    validated,
)
from orchestrator.api.deps import ServicesDep
from orchestrator.api.routes.exercises import detail_out
from orchestrator.api.schemas.exercises import EnvironmentIn, ExerciseIn, ExtendIn, RenewIn
from orchestrator.api.schemas.scenarios import ScenarioSummary
from orchestrator.exercises.access import access_by_team_link, issue_team_links, team_access
from orchestrator.exercises.model import ExerciseKind
from orchestrator.identity.principals import Principal
from orchestrator.wiring import Services

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def _listed(text: object) -> list[str]:
    return [v.strip() for v in str(text or "").replace("\n", ",").split(",") if v.strip()]


def _scenarios(services: Services, principal: Principal) -> list[dict[str, Any]]:
    with services.uow() as uow:
        versions = uow.scenarios.latest(principal)
    out = []
    for v in versions:
        readme = v.base_dir / "README.md" if v.base_dir is not None else None
        out.append(
            {
                "summary": ScenarioSummary.from_domain(v, viewer=principal),
                "readme": readme.read_text(encoding="utf-8")[:4000] if readme and readme.is_file() else "",
            }
        )
    return out


def _team(text: str) -> dict[str, str]:
    """`red` or `red:EE` (the team's country, for country affinity)."""
    name, _, country = text.partition(":")
    return {"name": name.strip(), **({"country": country.strip().upper()} if country.strip() else {})}


def _draft(form: FormData) -> ExerciseIn:
    teams = [_team(t) for t in _listed(form.get("teams"))]
    return validated(
        ExerciseIn,
        {
            "name": form.get("name"),
            "scenario": form.get("scenario"),
            "teams": teams,
            "start": utc(form.get("start")),
            "end": utc(form.get("end")),
            "lead_minutes": form.get("lead_minutes") or 15,
            "constraints": {
                "capabilities": _listed(form.get("capabilities")),
                "allowed_countries": [c.upper() for c in _listed(form.get("allowed_countries"))],
                "strategy": form.get("strategy") or "spread",
            },
        },
    )


def _defaults(services: Services) -> dict[str, str]:
    now = services.clock.now().replace(second=0, microsecond=0)
    return {
        "start": (now + timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M"),
        "end": (now + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
        "strategy": "spread",
    }


@router.get("/exercises")
def exercises(request: Request, principal: ConsolePrincipal, services: ServicesDep) -> Response:
    with services.uow() as uow:
        found = services.exercises(uow).list(principal, kind=ExerciseKind.EXERCISE, active_only=False)
    return page(request, services, "exercises.html", principal=principal, exercises=found)


@router.get("/exercises/new")
def wizard(request: Request, principal: ConsolePrincipal, services: ServicesDep) -> Response:
    return page(
        request,
        services,
        "wizard.html",
        principal=principal,
        scenarios=_scenarios(services, principal),
        values=_defaults(services),
        preview=None,
    )


@router.post("/exercises/new")
def wizard_step(
    request: Request, principal: ConsolePrincipal, services: ServicesDep, form: FormDep
) -> Response:
    """`action=preview` shows the placement with every range's reason; `action=create` books it."""
    body = _draft(form)
    if form.get("action") == "create":
        with services.uow() as uow:
            detail = services.exercises(uow).create(principal, body.to_domain())
        return see_other(f"/exercises/{detail.exercise.id}")
    with services.uow() as uow:
        handle, placement = services.exercises(uow).plan(principal, body.to_domain())
    ranges = [
        {
            "slug": o.range_slug,
            "teams": o.teams,
            "ok": o.verdict.ok,
            "reasons": o.refusals
            or [f"eligible: score {o.score}, room for {o.room} more team(s), {o.teams} team(s) placed here"],
        }
        for o in placement.ranges
    ]
    return page(
        request,
        services,
        "wizard.html",
        principal=principal,
        scenarios=_scenarios(services, principal),
        values={k: str(v) for k, v in form.items()},
        preview={
            "scenario": handle.ref,
            "footprint": handle.demand.as_dict(),
            "feasible": placement.feasible,
            "summary": placement.summary(),
            "reasons": list(placement.reasons),
            "assignments": sorted(placement.assignments, key=lambda a: a.team),
            "ranges": ranges,
        },
    )


def _detail(services: Services, principal: Principal, exercise_id: str) -> dict[str, Any]:
    with services.uow() as uow:
        out = detail_out(uow, services.exercises(uow).get(principal, exercise_id))
    return out.model_dump(mode="json")


@router.get("/exercises/{exercise_id}")
def exercise(
    request: Request, exercise_id: str, principal: ConsolePrincipal, services: ServicesDep
) -> Response:
    detail = _detail(services, principal, exercise_id)
    with services.uow() as uow:
        access = team_access(uow, principal, exercise_id, values=services.instance_values)
    return page(
        request, services, "exercise.html", principal=principal, exercise=detail, access=access, links=None
    )


@router.get("/exercises/{exercise_id}/progress")
def progress(exercise_id: str, principal: ConsolePrincipal, services: ServicesDep) -> JSONResponse:
    """What the exercise page polls: status and each team's stage."""
    detail = _detail(services, principal, exercise_id)
    return JSONResponse(
        {
            "status": detail["status"],
            "teams": [
                {"team": t["team"], "stage": t["stage"], "reason": t["stage_reason"], "range": t["range"]}
                for t in detail["teams"]
            ],
        },
        headers=PAGE_HEADERS,
    )


@router.post("/exercises/{exercise_id}/{verb}")
def change(
    request: Request,
    exercise_id: str,
    verb: str,
    principal: ConsolePrincipal,
    services: ServicesDep,
    form: FormDep,
) -> Response:
    with services.uow() as uow:
        service = services.exercises(uow)
        if verb == "cancel":
            service.cancel(principal, exercise_id)
        elif verb == "extend":
            service.extend(principal, exercise_id, end=validated(ExtendIn, {"end": utc(form.get("end"))}).end)
        elif verb == "retry":
            service.retry(principal, exercise_id, team=str(form.get("team", "")))
        elif verb == "team-links":
            links = issue_team_links(uow, principal, exercise_id, clock=services.clock)
        else:
            return see_other(f"/exercises/{exercise_id}")
    if verb == "team-links":
        detail = _detail(services, principal, exercise_id)
        with services.uow() as uow:
            access = team_access(uow, principal, exercise_id, values=services.instance_values)
        base = str(request.base_url).rstrip("/")
        shown = [{"team": link.team, "url": f"{base}/team/{link.token}"} for link in links]
        return page(
            request,
            services,
            "exercise.html",
            principal=principal,
            exercise=detail,
            access=access,
            links=shown,
        )
    return see_other(f"/exercises/{exercise_id}")


@router.get("/exercises/{exercise_id}/sheet")
def sheet(request: Request, exercise_id: str, principal: ConsolePrincipal, services: ServicesDep) -> Response:
    """The printable access sheet: one section per team (print it, cut it, hand each team its own)."""
    detail = _detail(services, principal, exercise_id)
    with services.uow() as uow:
        access = team_access(uow, principal, exercise_id, values=services.instance_values)
    return page(request, services, "sheet.html", principal=principal, exercise=detail, access=access)


@router.get("/exercises/{exercise_id}/sheet.csv")
def sheet_csv(exercise_id: str, principal: ConsolePrincipal, services: ServicesDep) -> Response:
    """The access sheet as CSV: one row per team and endpoint, its credentials beside it."""
    with services.uow() as uow:
        access = team_access(uow, principal, exercise_id, values=services.instance_values)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["team", "range", "stage", "endpoint", "credentials"])
    for a in access:
        credentials = "; ".join(f"{k}={v}" for k, v in a.credentials.items())
        for endpoint in a.endpoints or (None,):
            where = "" if endpoint is None else endpoint.url or endpoint.address
            writer.writerow([a.team, a.range_slug, a.stage.value, where, credentials])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={**PAGE_HEADERS, "content-disposition": f'attachment; filename="access-{exercise_id}.csv"'},
    )


@router.get("/environments")
def environments(request: Request, principal: ConsolePrincipal, services: ServicesDep) -> Response:
    now = services.clock.now()
    with services.uow() as uow:
        found = services.environments(uow).list(principal, active_only=True)
    rows = [{"env": e, "remaining": max(0, int((e.end - now).total_seconds() // 60))} for e in found]
    return page(
        request,
        services,
        "environments.html",
        principal=principal,
        environments=rows,
        scenarios=_scenarios(services, principal),
    )


@router.post("/environments")
def launch(principal: ConsolePrincipal, services: ServicesDep, form: FormDep) -> Response:
    body = validated(
        EnvironmentIn,
        {
            "scenario": form.get("scenario"),
            "ttl_minutes": form.get("ttl_minutes") or 120,
            "name": form.get("name") or "",
        },
    )
    with services.uow() as uow:
        detail = services.environments(uow).launch(principal, **body.launch_args())
    return see_other(f"/environments/{detail.exercise.id}")


@router.get("/environments/{environment_id}")
def environment(
    request: Request, environment_id: str, principal: ConsolePrincipal, services: ServicesDep
) -> Response:
    detail = _detail(services, principal, environment_id)
    with services.uow() as uow:
        access = team_access(uow, principal, environment_id, values=services.instance_values)
    end = datetime.fromisoformat(detail["end"]).astimezone(UTC)
    remaining = max(0, int((end - services.clock.now()).total_seconds() // 60))
    return page(
        request,
        services,
        "environment.html",
        principal=principal,
        exercise=detail,
        access=access,
        remaining=remaining,
    )


@router.post("/environments/{environment_id}/{verb}")
def change_environment(
    environment_id: str, verb: str, principal: ConsolePrincipal, services: ServicesDep, form: FormDep
) -> Response:
    with services.uow() as uow:
        service = services.environments(uow)
        if verb == "renew":
            body = validated(RenewIn, {"minutes": form.get("minutes") or 60})
            service.renew(principal, environment_id, extra=timedelta(minutes=body.minutes))
        elif verb == "destroy":
            service.destroy(principal, environment_id)
    return see_other(f"/environments/{environment_id}")


@router.get("/team/{token}")
def team(request: Request, token: str, services: ServicesDep) -> Response:
    """A team's own page: its endpoints and credentials, and nothing of any other team."""
    with services.uow() as uow:
        access = access_by_team_link(uow, token, values=services.instance_values)
    response = page(request, services, "team.html", principal=None, access=access)
    response.headers["referrer-policy"] = "no-referrer"
    return response
