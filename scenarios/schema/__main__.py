"""`python -m scenarios.schema [--check]`: regenerate (or check) scenarios/schema/scenario.schema.json."""

from __future__ import annotations

import sys

from scenarios.schema import SCHEMA_PATH, is_stale, write


def main(argv: list[str]) -> int:
    if "--check" in argv:
        if is_stale():
            sys.stderr.write(f"{SCHEMA_PATH} is stale: run `python -m scenarios.schema`\n")
            return 1
        return 0
    changed = write()
    sys.stdout.write(f"{'wrote' if changed else 'unchanged'} {SCHEMA_PATH}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
