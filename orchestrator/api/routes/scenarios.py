"""Scenarios: the built-in library and versions uploaded by trainers; what each team instance needs."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response, status

from orchestrator.api.deps import PrincipalDep, ServicesDep
from orchestrator.api.schemas.scenarios import ScenarioOut, ScenarioSummary, SharingIn, SharingOut
from orchestrator.catalogue.scenario_service import ScenarioRef
from orchestrator.domain.errors import FieldProblem, InvalidInput
from orchestrator.identity.principals import Principal
from orchestrator.wiring import Services

router = APIRouter(prefix="/api/v1/scenarios", tags=["scenarios"])

#: Scenario documents are small (the largest library scenario is ~20 KiB); refuse anything absurd.
MAX_DOCUMENT_BYTES = 1024 * 1024
_YAML_TYPES = {"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain", ""}


@router.get("", summary="The latest version of every scenario you may use (library, yours, shared with you)")
def list_(principal: PrincipalDep, services: ServicesDep) -> list[ScenarioSummary]:
    with services.uow() as uow:
        versions = uow.scenarios.latest(principal)
    return [ScenarioSummary.from_domain(v, viewer=principal) for v in versions]


def _one(principal: Principal, services: Services, ref: ScenarioRef) -> ScenarioOut:
    with services.uow() as uow:
        found = uow.scenarios.get(principal, ref)
        versions = uow.scenarios.versions(principal, found)
    return ScenarioOut.of(found, versions=versions, viewer=principal)


@router.get(
    "/{name}",
    summary="A scenario's latest version, by bare name: your organisation's, else the library's",
)
def get(name: str, principal: PrincipalDep, services: ServicesDep) -> ScenarioOut:
    return _one(principal, services, ScenarioRef(owner=None, name=name, version=None))


@router.get("/{name}/versions/{version}", summary="One version, by bare name")
def get_version(name: str, version: str, principal: PrincipalDep, services: ServicesDep) -> ScenarioOut:
    return _one(principal, services, ScenarioRef(owner=None, name=name, version=version))


@router.get(
    "/{owner}/{name}", summary="The latest version of an owner's scenario (library: owner `federange`)"
)
def get_owned(owner: str, name: str, principal: PrincipalDep, services: ServicesDep) -> ScenarioOut:
    return _one(principal, services, ScenarioRef(owner=owner, name=name, version=None))


@router.get("/{owner}/{name}/versions/{version}", summary="One version of an owner's scenario")
def get_owned_version(
    owner: str, name: str, version: str, principal: PrincipalDep, services: ServicesDep
) -> ScenarioOut:
    return _one(principal, services, ScenarioRef(owner=owner, name=name, version=version))


@router.put(
    "/{name}/sharing",
    summary="Share your organisation's scenario (every version) with other organisations, or stop",
)
def share(name: str, body: SharingIn, principal: PrincipalDep, services: ServicesDep) -> SharingOut:
    with services.uow() as uow:
        shared = uow.scenarios.share(
            principal, name, organisations=frozenset(body.organisations), everyone=body.everyone
        )
    return SharingOut(name=name, shared_with=sorted(shared))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Upload a scenario version, owned by your organisation (trainers and admins)",
    description=(
        "Send the scenario YAML as the body (`Content-Type: application/yaml`) or as JSON "
        '`{"document": "<YAML>"}`. The version is owned by your organisation: other organisations see it '
        "only once you share it. 201 when stored, 200 when the same document is already stored under "
        "that version, 422 with document paths when invalid, 409 when the version was already used by an "
        "exercise (versions are immutable once used). `warnings` lists images not pinned by digest."
    ),
    responses={200: {"description": "the same document was already stored under this version"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/yaml": {"schema": {"type": "string"}},
                "application/json": {
                    "schema": {"type": "object", "properties": {"document": {"type": "string"}}}
                },
            },
        }
    },
)
async def upload(
    request: Request, principal: PrincipalDep, services: ServicesDep, response: Response
) -> ScenarioOut:
    document = await _document(request)
    with services.uow() as uow:
        done = uow.scenarios.upload(principal, document)
        versions = uow.scenarios.versions(principal, done.version)
    if not done.created:
        response.status_code = status.HTTP_200_OK
    return ScenarioOut.of(done.version, versions=versions, viewer=principal, warnings=done.warnings)


async def _document(request: Request) -> str:
    raw = await request.body()
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise InvalidInput(
            FieldProblem("document", f"the document is larger than {MAX_DOCUMENT_BYTES} bytes")
        )
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(FieldProblem("document", "the document is not UTF-8 text")) from exc
    if content_type == "application/json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InvalidInput(FieldProblem("document", f"invalid JSON: {exc}")) from exc
        if not isinstance(data, dict) or not isinstance(data.get("document"), str):
            raise InvalidInput(FieldProblem("document", 'expected {"document": "<scenario YAML>"}'))
        text = data["document"]
    elif content_type not in _YAML_TYPES:
        raise InvalidInput(
            FieldProblem(
                "document", f"unsupported content type '{content_type}': send application/yaml or JSON"
            )
        )
    if not text.strip():
        raise InvalidInput(FieldProblem("document", "empty document: send the scenario YAML"))
    return text
