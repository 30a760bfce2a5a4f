"""Scenarios: the built-in library and versions uploaded by trainers; what each team instance needs."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response, status

from orchestrator.api.deps import PrincipalDep, ServicesDep
from orchestrator.api.schemas.scenarios import ScenarioOut, ScenarioSummary
from orchestrator.domain.errors import FieldProblem, InvalidInput

router = APIRouter(prefix="/api/v1/scenarios", tags=["scenarios"])

#: Scenario documents are small (the largest library scenario is ~20 KiB); refuse anything absurd.
MAX_DOCUMENT_BYTES = 1024 * 1024
_YAML_TYPES = {"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain", ""}


@router.get("", summary="The latest version of every scenario (library and uploaded), with footprints")
def list_(principal: PrincipalDep, services: ServicesDep) -> list[ScenarioSummary]:
    with services.uow() as uow:
        versions = uow.scenarios.latest()
    return [ScenarioSummary.from_domain(v) for v in versions]


@router.get("/{name}", summary="A scenario's latest version: footprint, topology and document")
def get(name: str, principal: PrincipalDep, services: ServicesDep) -> ScenarioOut:
    with services.uow() as uow:
        catalogue = uow.scenarios
        found = catalogue.get(name)
        versions = [v.version for v in catalogue.all_versions(name)]
    return ScenarioOut.of(found, versions=versions)


@router.get("/{name}/versions/{version}", summary="One version of a scenario")
def get_version(name: str, version: str, principal: PrincipalDep, services: ServicesDep) -> ScenarioOut:
    with services.uow() as uow:
        catalogue = uow.scenarios
        found = catalogue.get(name, version)
        versions = [v.version for v in catalogue.all_versions(name)]
    return ScenarioOut.of(found, versions=versions)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Upload a scenario version (trainers and admins of an organisation)",
    description=(
        "Send the scenario YAML as the body (`Content-Type: application/yaml`) or as JSON "
        '`{"document": "<YAML>"}`. 201 when stored, 200 when the same document is already stored under '
        "that version, 422 with document paths when invalid, 409 when the version was already used by an "
        "exercise (versions are immutable once used) or is a library version."
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
        catalogue = uow.scenarios
        stored, created = catalogue.upload(principal, document)
        versions = [v.version for v in catalogue.all_versions(stored.name)]
    if not created:
        response.status_code = status.HTTP_200_OK
    return ScenarioOut.of(stored, versions=versions)


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
