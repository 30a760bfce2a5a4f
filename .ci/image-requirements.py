"""Print the requirements of the federange distribution with some extras, one per line, from pyproject.toml.

    python3 .ci/image-requirements.py pyproject.toml postgres,kubernetes,docker

The Containerfile installs these in a layer of their own before it copies the source, so that a change to
the code reuses the downloaded and installed dependencies (the build cache keys that layer on
pyproject.toml and the extras only). Extras that name `federange[...]` are expanded; an unknown extra is an
error, not an empty set.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

SELF = re.compile(r"^federange\[(?P<extras>[^\]]+)\]\s*$")


def requirements(pyproject: dict[str, object], extras: list[str]) -> list[str]:
    project = pyproject["project"]
    assert isinstance(project, dict)
    optional: dict[str, list[str]] = project.get("optional-dependencies", {})
    found: list[str] = list(project.get("dependencies", []))
    pending, seen = list(extras), set()
    while pending:
        extra = pending.pop(0)
        if extra in seen:
            continue
        seen.add(extra)
        if extra not in optional:
            raise SystemExit(f"unknown extra '{extra}' (pyproject.toml has: {', '.join(sorted(optional))})")
        for requirement in optional[extra]:
            nested = SELF.match(requirement)
            if nested:
                pending.extend(e.strip() for e in nested["extras"].split(","))
            elif requirement not in found:
                found.append(requirement)
    return found


def main(argv: list[str]) -> None:
    if len(argv) != 3:
        raise SystemExit(__doc__)
    pyproject = tomllib.loads(Path(argv[1]).read_text(encoding="utf-8"))
    extras = [e.strip() for e in argv[2].split(",") if e.strip()]
    sys.stdout.write("".join(f"{line}\n" for line in requirements(pyproject, extras)))


if __name__ == "__main__":
    main(sys.argv)
