""".ci/image-requirements.py: the requirements the Containerfile installs before it copies the source."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / ".ci" / "image-requirements.py"
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def requirements(extras: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(REPO / "pyproject.toml"), extras],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_image_extras_add_their_clients_to_every_core_dependency() -> None:
    done = requirements("postgres,kubernetes,docker")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    extras = PROJECT["optional-dependencies"]
    assert lines == [*PROJECT["dependencies"], *extras["postgres"], *extras["kubernetes"], *extras["docker"]]
    assert not any(line.startswith("ansible") for line in lines)


def test_an_extra_naming_others_is_expanded_once_and_never_names_federange() -> None:
    lines = requirements("demo,docker").stdout.splitlines()
    extras = PROJECT["optional-dependencies"]
    assert set(lines) == {
        *PROJECT["dependencies"],
        *extras["docker"],
        *extras["kubernetes"],
        *extras["ansible"],
    }
    assert len(lines) == len(set(lines))
    assert not any(line.startswith("federange") for line in lines)


def test_an_unknown_extra_is_an_error_naming_the_known_ones() -> None:
    done = requirements("postgres,postgress")
    assert done.returncode != 0
    assert "unknown extra 'postgress'" in done.stderr and "kubernetes" in done.stderr
