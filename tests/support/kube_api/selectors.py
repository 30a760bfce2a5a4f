"""Label and field selectors as the Kubernetes API parses them (the query-string forms)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Predicate = Callable[[dict[str, Any]], bool]

_SET_TERM = re.compile(r"^\s*(!?)\s*([A-Za-z0-9._/-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ_TERM = re.compile(r"^\s*([A-Za-z0-9._/-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*$")
_EXISTS_TERM = re.compile(r"^\s*(!?)\s*([A-Za-z0-9._/-]+)\s*$")


class SelectorError(ValueError):
    pass


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return [p for p in parts if p.strip()]


def label_matcher(text: str) -> Callable[[Mapping[str, str]], bool]:
    """A predicate over a label map for `a=b,c!=d,e,!f,g in (x,y),h notin (z)`."""
    checks: list[Callable[[Mapping[str, str]], bool]] = []
    for term in _split(text or ""):
        if m := _SET_TERM.match(term):
            if m.group(1):
                raise SelectorError(f"unable to parse requirement: {term!r}")
            key, op = m.group(2), m.group(3)
            values = {v.strip() for v in m.group(4).split(",") if v.strip()}
            if op == "in":
                checks.append(lambda labels, k=key, vs=values: labels.get(k) in vs)
            else:
                checks.append(lambda labels, k=key, vs=values: labels.get(k) not in vs)
        elif m := _EQ_TERM.match(term):
            key, op, value = m.group(1), m.group(2), m.group(3)
            if op == "!=":
                checks.append(lambda labels, k=key, v=value: labels.get(k) != v)
            else:
                checks.append(lambda labels, k=key, v=value: labels.get(k) == v)
        elif m := _EXISTS_TERM.match(term):
            key = m.group(2)
            if m.group(1):
                checks.append(lambda labels, k=key: k not in labels)
            else:
                checks.append(lambda labels, k=key: k in labels)
        else:
            raise SelectorError(f"unable to parse requirement: {term!r}")
    return lambda labels: all(check(labels) for check in checks)


def lookup(obj: Mapping[str, Any], dotted: str) -> str:
    current: Any = obj
    for part in dotted.split("."):
        if not isinstance(current, Mapping):
            return ""
        current = current.get(part)
    if current is None:
        return ""
    if isinstance(current, bool):
        return str(current).lower()
    return str(current)


def field_matcher(text: str) -> Predicate:
    """A predicate over an object for `metadata.name=x,status.phase!=Failed` (dotted field paths)."""
    checks: list[Predicate] = []
    for term in _split(text or ""):
        m = re.match(r"^\s*([A-Za-z0-9.]+)\s*(==|=|!=)\s*(.*?)\s*$", term)
        if not m:
            raise SelectorError(f"invalid field selector: {term!r}")
        path, op, value = m.groups()
        if op == "!=":
            checks.append(lambda obj, p=path, v=value: lookup(obj, p) != v)
        else:
            checks.append(lambda obj, p=path, v=value: lookup(obj, p) == v)
    return lambda obj: all(check(obj) for check in checks)


def match_label_selector(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A structured LabelSelector (matchLabels + matchExpressions) over a label map."""
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, op, values = expression["key"], expression["operator"], set(expression.get("values") or [])
        present = key in labels
        if (
            (op == "In" and (not present or labels[key] not in values))
            or (op == "NotIn" and present and labels[key] in values)
            or (op == "Exists" and not present)
            or (op == "DoesNotExist" and present)
        ):
            return False
    return True
