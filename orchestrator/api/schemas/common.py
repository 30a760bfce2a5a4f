"""Field types shared by the API schemas; each rejects bad input with a reason naming the rule."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Self, TypeVar

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from starlette.responses import Response

from orchestrator.catalogue.validation import capability_problem, country_problem, slug_problem
from orchestrator.domain.clock import ensure_utc
from orchestrator.domain.errors import FieldProblem, InvalidInput

T = TypeVar("T")


def _check(problem_of: object) -> AfterValidator:
    def check(value: str) -> str:
        reason = problem_of(value)  # type: ignore[operator]
        if reason:
            raise ValueError(reason)
        return value

    return AfterValidator(check)


#: Instants the API accepts: far enough either way for any booking, near enough that adding a booking's
#: lead time or length can never leave the calendar (Python's datetime ends at year 9999).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
#: The last page a listing serves (with at most 500 items a page, far past any real listing).
MAX_PAGE = 1_000_000
#: The longest text any field takes unless its schema says less (a kubeconfig with its certificates).
MAX_TEXT = 256 * 1024


def _aware(value: datetime) -> datetime:
    value = ensure_utc(value)
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"must be from {EARLIEST.year} to {LATEST.year - 1}, got {value.isoformat()}")
    return value


#: Every ISO 3166-1 alpha-2 code, so the OpenAPI document says exactly which countries are accepted.
COUNTRY_CODES = sorted(c.alpha_2 for c in pycountry.countries)
Country = Annotated[
    str,
    _check(country_problem),
    Field(examples=["EE"], description="ISO 3166-1 alpha-2", json_schema_extra={"enum": COUNTRY_CODES}),
]
Slug = Annotated[str, _check(slug_problem), Field(max_length=63, examples=["ee-tallinn-range"])]
Capability = Annotated[str, _check(capability_problem), Field(max_length=63, examples=["k8s"])]
UtcDateTime = Annotated[
    datetime,
    AfterValidator(_aware),
    Field(description=f"RFC 3339 with a timezone, from {EARLIEST.year} to {LATEST.year - 1}"),
]
#: An id of something Federange made (a UUID, an instance id) as a reference in a body.
Ref = Annotated[str, Field(min_length=1, max_length=64)]
#: Free text a person writes (a description, a reason).
Prose = Annotated[str, Field(max_length=10_000)]


def _text_problems(value: object, path: str) -> Iterator[FieldProblem]:
    if isinstance(value, str):
        if "\x00" in value:
            yield FieldProblem(path or "body", "must not contain NUL bytes")
        elif len(value) > MAX_TEXT:
            yield FieldProblem(path or "body", f"is longer than {MAX_TEXT} characters")
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            yield from _text_problems(key, where)
            yield from _text_problems(item, where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _text_problems(item, f"{path}[{i}]")


#: Text without NUL bytes, as a JSON Schema pattern.
NO_NUL = "^[^\\u0000]*$"


def _bound_strings(schema: dict[str, Any]) -> None:
    """Say in a string property's JSON Schema what `Schema` enforces: no NUL byte, at most MAX_TEXT."""
    if schema.get("type") == "string" and "enum" not in schema and "format" not in schema:
        schema.setdefault("pattern", NO_NUL)
        schema.setdefault("maxLength", MAX_TEXT)
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            _bound_strings(option)
    if isinstance(schema.get("items"), dict):
        _bound_strings(schema["items"])


def _document_bounds(schema: dict[str, Any], _model: type[BaseModel]) -> None:
    for prop in schema.get("properties", {}).values():
        _bound_strings(prop)


class Schema(BaseModel):
    """Every request body: unknown fields refused, and no text anywhere in it (nested mappings such as a
    connector config included) holds a NUL byte or is longer than MAX_TEXT (refused with the field's
    path before any other check: databases keep text without NUL). The JSON Schema says so."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_document_bounds)

    @model_validator(mode="before")
    @classmethod
    def _bounded_text(cls, data: object) -> object:
        problems = list(_text_problems(data, ""))
        if problems:
            raise InvalidInput(problems)
        return data


class Out(BaseModel):
    """A response body read off a domain value: `read` takes each field from the value's attribute of
    the same name, so a schema's `from_domain` names only the fields that differ."""

    @classmethod
    def read(cls, value: object, **differ: Any) -> Self:
        return cls(
            **{name: differ[name] if name in differ else getattr(value, name) for name in cls.model_fields}
        )


class EndpointOut(Out):
    """Where a team (or a hub) reaches a deployed host (`connectors.base.Endpoint`)."""

    host: str
    port: int
    protocol: str
    address: str
    url: str


class PageOut(Out, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int


def answer(out: BaseModel, *, status_code: int = 200) -> Response:
    """A route's output as its response, serialised once (by alias, as FastAPI would). Returning a
    Response spares FastAPI validating the model again, which for a sync route is one more hop through
    the thread pool: for the busiest routes (a booking)."""
    return Response(
        out.model_dump_json(by_alias=True), status_code=status_code, media_type="application/json"
    )
