"""The import tables (`tables.yaml` beside this module, overridable by a user file): base box -> image,
flavor -> resources. Documented in the YAML file itself."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from scenarios.errors import path_of
from scenarios.loader import yaml_data
from scenarios.model import HostResources

TABLES_PATH = Path(__file__).resolve().parent / "tables.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ImageEntry(_Strict):
    image: str | None = Field(default=None, pattern=r"^[^\s]+$")
    command: list[str] | None = None
    ssh: bool = False
    needs_vm: bool = False

    @model_validator(mode="after")
    def _one_of(self) -> ImageEntry:
        if (self.image is None) == (not self.needs_vm):
            raise ValueError("an entry has either an 'image' or 'needs_vm: true'")
        return self


class PatternEntry(ImageEntry):
    match: str = Field(min_length=1)


class Tables(_Strict):
    images: dict[str, ImageEntry] = Field(default_factory=dict)
    patterns: list[PatternEntry] = Field(default_factory=list)
    flavors: dict[str, HostResources] = Field(default_factory=dict)
    default_flavor: str = "standard.small"
    container_flavor: str = "standard.tiny"

    @model_validator(mode="after")
    def _flavors_exist(self) -> Tables:
        for key in ("default_flavor", "container_flavor"):
            if getattr(self, key) not in self.flavors:
                raise ValueError(f"{key} '{getattr(self, key)}' is not in 'flavors'")
        return self


@dataclass(frozen=True)
class ImageChoice:
    """What a base box becomes; `how` says which table row decided (for the report)."""

    entry: ImageEntry
    how: str


class TablesError(ValueError):
    pass


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml_data(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TablesError(f"cannot read import tables {path}: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise TablesError(f"{path}: import tables are a mapping with 'images', 'patterns', 'flavors'")
    return data


def load_tables(override: Path | None = None) -> Tables:
    """The shipped tables, with `override` (a user file of the same shape) laid over them."""
    data = _read(TABLES_PATH)
    source = str(TABLES_PATH)
    if override is not None:
        user = _read(override)
        source = str(override)
        unknown = set(user) - {"images", "patterns", "flavors", "default_flavor", "container_flavor"}
        if unknown:
            raise TablesError(f"{override}: unknown keys {sorted(unknown)}")
        data["images"] = {**data.get("images", {}), **(user.get("images") or {})}
        data["patterns"] = [*(user.get("patterns") or []), *data.get("patterns", [])]
        data["flavors"] = {**data.get("flavors", {}), **(user.get("flavors") or {})}
        for key in ("default_flavor", "container_flavor"):
            if key in user:
                data[key] = user[key]
    try:
        return Tables.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{path_of(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise TablesError(f"{source}: {problems}") from exc


def choose_image(tables: Tables, *keys: str) -> ImageChoice | None:
    """The first table row matching any key: exact, then without a `namespace/` prefix, then patterns."""
    for key in keys:
        if key in tables.images:
            return ImageChoice(tables.images[key], f"image map entry '{key}'")
        short = key.rsplit("/", 1)[-1]
        if short in tables.images:
            return ImageChoice(tables.images[short], f"image map entry '{short}'")
    for key in keys:
        for pattern in tables.patterns:
            if fnmatch.fnmatch(key, pattern.match):
                return ImageChoice(pattern, f"image map pattern '{pattern.match}'")
    return None
