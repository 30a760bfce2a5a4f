"""Reading another tool's document part by part, each part checked for the shape the importer needs.

Importers take files nobody here wrote: any value may be a string where a mapping was expected, a list
where a scalar was, or missing. Every read goes through these functions with the part's path in the
source (`hosts[2].base_box`); a shape the format does not allow is refused naming that path, so an import
ends either in a scenario or in an ImportRefused that says where the document is wrong, never in a
Python exception from deep inside an importer.

Booleans follow YAML 1.1 as the source tools read them, also when quoted: `"false"`, `no`, `off` and `0`
are false, `"true"`, `yes`, `on` and `1` true.
"""

from __future__ import annotations

from typing import Any

from scenarios.importers.report import ImportRefused

_TRUE = {"true", "yes", "on", "y", "1"}
_FALSE = {"false", "no", "off", "n", "0"}


def at(path: str, key: str | int) -> str:
    """The path of `key` below `path`: `at("hosts[0]", "name")` -> `hosts[0].name`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def describe(value: Any) -> str:
    """A short name of what a value is, for refusals."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text {shown!r}"
    if isinstance(value, int | float):
        return f"the number {value}"
    return f"a {type(value).__name__}"


def refuse_at(path: str, reason: str) -> ImportRefused:
    return ImportRefused(reason, path=path)


def mapping(value: Any, path: str, *, what: str = "a mapping") -> dict[str, Any]:
    """A mapping (keys as text); nothing counts as an empty one."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    raise refuse_at(path, f"expected {what}, found {describe(value)}")


def sequence(value: Any, path: str, *, what: str = "a list") -> list[tuple[str, Any]]:
    """The items of a list with their paths; nothing counts as an empty list."""
    if value is None:
        return []
    if isinstance(value, list):
        return [(at(path, i), item) for i, item in enumerate(value)]
    raise refuse_at(path, f"expected {what}, found {describe(value)}")


def text(value: Any, path: str, *, default: str | None = None) -> str:
    """A scalar as text (numbers too: CyRIS writes `id: 1`); missing only when a default is given."""
    if value is None:
        if default is None:
            raise refuse_at(path, "missing (required)")
        return default
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise refuse_at(path, f"expected text, found {describe(value)}")


def flag(value: Any, path: str, *, default: bool) -> bool:
    """A boolean, also when written as text (`hidden: "false"` is false)."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise refuse_at(path, f"expected true or false, found {describe(value)}")


def integer(
    value: Any,
    path: str,
    *,
    default: int | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    """An integer (also written as text), within [minimum, maximum] when given."""
    if value is None and default is not None:
        return default
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        number = int(value.strip())
    if number is None:
        raise refuse_at(path, f"expected a whole number, found {describe(value)}")
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        bounds = f"{minimum if minimum is not None else '...'}..{maximum if maximum is not None else '...'}"
        raise refuse_at(path, f"expected a whole number in {bounds}, found {number}")
    return number
