"""`federange --help` start-up: the command groups are imported only when used (orchestrator.cli.commands).

Times whole processes, as a user's shell starts them (wall clock, best and median of --repeats runs):

- python: `python -c pass`, the interpreter's own start-up (the floor);
- eager: the old shape, every command module imported up front, then the root help rendered;
- federange --help: the root help as shipped (lazy groups);
- federange ranges --help / federange ranges list --help: one group loaded.

Target: `federange --help` under 0.2 s. `--write-docs` replaces the `## CLI start-up` section of
docs/benchmarks.md.

    .venv/bin/python bench/cli_help.py [--repeats 15] [--write-docs]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from orchestrator.cli.commands import GROUPS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "## CLI start-up"
EAGER = (
    "import importlib, sys\n"
    f"for m in {sorted({e.module for e in GROUPS.values()} | {'orchestrator.cli.scenario_app'})!r}:\n"
    "    importlib.import_module(m)\n"
    "from orchestrator.cli import app\n"
    "sys.argv = ['federange', '--help']\n"
    "app()\n"
)


def federange() -> list[str]:
    script = Path(sys.executable).parent / "federange"
    return [str(script)] if script.exists() else [sys.executable, "-m", "orchestrator.cli"]


def timed(command: list[str], repeats: int) -> tuple[float, float]:
    env = {**os.environ, "COLUMNS": "100", "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run(command, env=env, capture_output=True, check=False)  # warm the file cache
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, check=False)
        runs.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{command} failed: {done.stderr.decode()[-500:]}")
    return min(runs), statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    cases = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("eager imports + --help (before)", [sys.executable, "-c", EAGER]),
        ("federange --help", [*federange(), "--help"]),
        ("federange ranges --help", [*federange(), "ranges", "--help"]),
        ("federange ranges list --help", [*federange(), "ranges", "list", "--help"]),
    ]
    results = [(name, *timed(command, args.repeats)) for name, command in cases]
    floor = results[0][2]
    eager = results[1][2]
    lines = [
        "| command | best (s) | median (s) | median / python | median / eager |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, best, median in results:
        lines.append(f"| {name} | {best:.3f} | {median:.3f} | {median / floor:.2f} | {median / eager:.2f} |")
    load = os.getloadavg()[0]
    where = f"{platform.python_version()}, {os.cpu_count()} cores, load average {load:.1f} at the start"
    table = "\n".join(lines)
    print(table)
    print(f"({args.repeats} runs each; Python {where})")
    if args.write_docs:
        write_docs(table, repeats=args.repeats, where=where)


def write_docs(table: str, *, repeats: int, where: str) -> None:
    text = DOCS.read_text()
    body = (
        f"{SECTION}\n\n"
        "`federange --help` imports Typer and renders the root help from the table of command groups\n"
        "in `orchestrator/cli/commands.py`; a group's module (httpx, Rich tables, SQLAlchemy, connector\n"
        "SDKs) is imported when one of its commands runs. Whole processes, wall clock, as a shell starts\n"
        f"them ({repeats} runs each, Python {where}):\n\n"
        "    .venv/bin/python bench/cli_help.py --repeats 15 --write-docs\n\n"
        f"{table}\n\n"
        "`eager` is the shape before: every command module imported up front, then the same help. The\n"
        "target is `federange --help` under 0.2 s; the machine was shared with other work while measuring\n"
        "(the load average above), so the figures are upper bounds.\n"
    )
    if SECTION in text:
        before, rest = text.split(SECTION, 1)
        after = rest.split("\n## ", 1)
        text = before + body + ("\n## " + after[1] if len(after) > 1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + body
    DOCS.write_text(text)


if __name__ == "__main__":
    main()
