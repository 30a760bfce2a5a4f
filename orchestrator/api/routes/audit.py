"""The audit log: who changed what, when, with before/after (never secrets)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from orchestrator.api.deps import PrincipalDep, ServicesDep
from orchestrator.api.schemas.catalogue import AuditOut
from orchestrator.api.schemas.common import MAX_PAGE, PageOut

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", summary="Audit events, newest first (admins: all; operators: their organisation's)")
def list_(
    principal: PrincipalDep,
    services: ServicesDep,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=500)] = 100,
) -> PageOut[AuditOut]:
    with services.uow() as uow:
        result = services.identity(uow.catalogue).list_audit(
            principal, object_id=object_id, action=action, page=page, page_size=page_size
        )
    return PageOut[AuditOut].read(result, items=[AuditOut.from_domain(e) for e in result.items])
