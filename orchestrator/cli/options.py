"""The options every command takes, before or after the subcommand (kubectl's global flags):
`--url`, `--token`, `--json`, `-o json|yaml|table|wide|id` and `--ids`.

They are added to every command and every command group when a group is loaded (`apply`), so
`federange --json ranges list`, `federange ranges --json list` and `federange ranges list --json` are one
request. Each place records what it was given in the invocation's `Common` (the innermost wins); the
client and the output read it from there. A command that already defines `-o`/`--output` (a file to
write) keeps its own, and takes `--json` only.
"""

from __future__ import annotations

import functools
import inspect
import os
import typing
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import typer
from typer.models import OptionInfo

DEFAULT_URL = "http://127.0.0.1:8471"
PANEL = "Common options (before or after the subcommand)"


class Format(StrEnum):
    table = "table"
    wide = "wide"
    json = "json"
    yaml = "yaml"
    id = "id"  # only the id of what the command made or listed, one per line (for `X=$(...)` in scripts)


@dataclass
class Common:
    """What this invocation was given; unset fields fall back to the environment and the defaults."""

    url: str | None = None
    token: str | None = None
    format: Format = Format.table
    ids: bool = False

    @property
    def server_url(self) -> str:
        return self.url or os.environ.get("FEDERANGE_URL") or DEFAULT_URL

    @property
    def api_token(self) -> str | None:
        return self.token or os.environ.get("FEDERANGE_TOKEN") or None

    @property
    def machine(self) -> bool:
        return self.format in (Format.json, Format.yaml, Format.id)

    @property
    def full_ids(self) -> bool:
        return self.ids or self.format is Format.wide


_current: ContextVar[Common | None] = ContextVar("federange_common", default=None)


def current() -> Common:
    """The options of the command being run (defaults outside a command, e.g. in library use)."""
    return _current.get() or Common()


def forget() -> None:
    """The invocation is over (several run in one process under a test runner)."""
    _current.set(None)


def _record(ctx: typer.Context, values: dict[str, Any]) -> None:
    root = ctx.find_root()
    common: Common = root.meta.setdefault("federange.common", Common())
    if values.get("url"):
        common.url = values["url"]
    if values.get("token"):
        common.token = values["token"]
    if values.get("as_json"):
        common.format = Format.json
    if values.get("output_format") is not None:
        common.format = Format(values["output_format"])
    if values.get("ids"):
        common.ids = True
    _current.set(common)


# name in the wrapped signature -> (option, type, key in _record)
_OPTIONS: dict[str, tuple[OptionInfo, Any, str]] = {
    "federange_url": (
        typer.Option(
            None,
            "--url",
            help=f"Federange server URL (or FEDERANGE_URL; default {DEFAULT_URL})",
            rich_help_panel=PANEL,
        ),
        str | None,
        "url",
    ),
    "federange_token": (
        typer.Option(None, "--token", help="API token (or FEDERANGE_TOKEN)", rich_help_panel=PANEL),
        str | None,
        "token",
    ),
    "federange_json": (
        typer.Option(False, "--json", help="Print JSON (the same as -o json)", rich_help_panel=PANEL),
        bool,
        "as_json",
    ),
    "federange_output": (
        typer.Option(
            None,
            "-o",
            "--output",
            help="Output format: table, wide (ids in full), json, yaml, or id (only the id, for scripts)",
            rich_help_panel=PANEL,
        ),
        Format | None,
        "output_format",
    ),
    "federange_ids": (
        typer.Option(False, "--ids", help="Show ids in full in tables", rich_help_panel=PANEL),
        bool,
        "ids",
    ),
}
_CTX = "federange_ctx"


def _declared(parameter: inspect.Parameter) -> set[str]:
    info = parameter.default
    if not isinstance(info, OptionInfo):
        return set()
    names = set(info.param_decls or ())
    if isinstance(info.default, str) and info.default.startswith("-"):
        names.add(info.default)
    return names


def with_common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` with the common options added to its signature (those it does not define itself)."""
    if getattr(func, "__federange_common__", False):
        return func
    signature = inspect.signature(func)
    hints = typing.get_type_hints(func)
    taken = set().union(*(_declared(p) for p in signature.parameters.values()))
    params = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in signature.parameters.values()]
    ctx_name = next((p.name for p in params if p.annotation is typer.Context), None)
    added: dict[str, str] = {}
    extra: list[inspect.Parameter] = []
    if ctx_name is None:
        ctx_name = _CTX
        extra.append(inspect.Parameter(_CTX, inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context))
    for name, (info, kind, key) in _OPTIONS.items():
        decls = set(info.param_decls or ())
        if decls & taken:
            continue
        added[name] = key
        extra.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=info, annotation=kind))

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = kwargs[ctx_name] if ctx_name != _CTX else kwargs.pop(_CTX)
        _record(ctx, {key: kwargs.pop(name) for name, key in added.items()})
        return func(*args, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=params + extra)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {
        **hints,
        **{p.name: p.annotation for p in extra},
    }
    wrapper.__federange_common__ = True  # type: ignore[attr-defined]
    return wrapper


def _group_callback() -> None:
    pass  # a group without a callback of its own: only there to take the common options


def apply(app: typer.Typer) -> typer.Typer:
    """Give every command and group of `app`, at any depth, the common options."""
    for command in app.registered_commands:
        if command.callback is not None:
            command.callback = with_common_options(command.callback)
    if app.registered_callback is None:
        app.callback()(with_common_options(_group_callback))
    elif app.registered_callback.callback is not None:
        app.registered_callback.callback = with_common_options(app.registered_callback.callback)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            apply(group.typer_instance)
    return app
