"""Field types shared by the API schemas; each rejects bad input with a reason naming the rule."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from orchestrator.catalogue.validation import capability_problem, country_problem, slug_problem
from orchestrator.domain.clock import ensure_utc

T = TypeVar("T")


def _check(problem_of: object) -> AfterValidator:
    def check(value: str) -> str:
        reason = problem_of(value)  # type: ignore[operator]
        if reason:
            raise ValueError(reason)
        return value

    return AfterValidator(check)


def _aware(value: datetime) -> datetime:
    return ensure_utc(value)


Country = Annotated[str, _check(country_problem), Field(examples=["EE"], description="ISO 3166-1 alpha-2")]
Slug = Annotated[str, _check(slug_problem), Field(examples=["ee-tallinn-range"])]
Capability = Annotated[str, _check(capability_problem), Field(examples=["k8s"])]
UtcDateTime = Annotated[datetime, AfterValidator(_aware), Field(description="RFC 3339 with a timezone")]


class Schema(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int
