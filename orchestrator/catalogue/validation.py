"""Rules on catalogue input that hold wherever the input comes from (API, CLI, importers)."""

from __future__ import annotations

import re

import pycountry

SLUG_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
CAPABILITY_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


def country_problem(code: str) -> str | None:
    """None when `code` is an ISO 3166-1 alpha-2 country code, else the reason it is not."""
    if len(code) != 2 or not code.isalpha() or not code.isupper():
        return f"'{code}' is not an ISO 3166-1 alpha-2 code (two upper-case letters, e.g. 'EE')"
    if pycountry.countries.get(alpha_2=code) is None:
        return f"'{code}' is not an ISO 3166-1 country code"
    return None


def slug_problem(slug: str) -> str | None:
    if not SLUG_RE.fullmatch(slug):
        return (
            f"'{slug}' is not a valid slug: lower-case letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters"
        )
    return None


def capability_problem(tag: str) -> str | None:
    if not CAPABILITY_RE.fullmatch(tag):
        return f"'{tag}' is not a valid capability tag: lower-case letters, digits, '.', '_' or '-'"
    return None


#: An organisation's handle: what names it in scenario references (`<handle>/<name>@<version>`).
HANDLE_MAX = 40


def handle_from(name: str) -> str:
    """A handle derived from an organisation's name: lower-case ASCII letters and digits, runs of anything
    else as one '-', trimmed to HANDLE_MAX characters."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", name.lower().encode("ascii", "ignore").decode()).strip("-")
    return cleaned[:HANDLE_MAX].rstrip("-") or "org"


def handle_problem(handle: str) -> str | None:
    if len(handle) > HANDLE_MAX or not SLUG_RE.fullmatch(handle):
        return (
            f"'{handle}' is not a valid handle: lower-case letters, digits and '-', starting and ending "
            f"with a letter or digit, at most {HANDLE_MAX} characters"
        )
    return None
