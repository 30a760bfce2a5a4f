"""Running `federange` as a user does: in-process through Typer's runner (fast), or as a real process
(what reaches the terminal: exit status, stdout, stderr, no traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner, Result

from orchestrator.cli import app

runner = CliRunner()
#: No server, token or output format from the environment the tests run in.
CLEAN = {"FEDERANGE_URL": "", "FEDERANGE_TOKEN": "", "COLUMNS": "200"}


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, list(args), env={**CLEAN, **(env or {})})


def federange(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", *args],
        env={**os.environ, **CLEAN, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def flat(text: str) -> str:
    """Output as one line of words: Rich's boxes and wrapping removed."""
    return " ".join(text.replace("│", " ").split())
