"""Every playbook a scenario ships (library) or an import generates (CyRIS tasks) passes Ansible's own
syntax check with the real ansible-playbook, against an inventory of the scenario's host names."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scenarios import library
from scenarios.bundle import Bundle, load_bundle
from scenarios.importers.cyris import import_cyris

pytestmark = pytest.mark.ansible

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def syntax_check(bundle: Bundle, tmp_path: Path) -> None:
    binary = Path(sys.executable).parent / "ansible-playbook"
    if not binary.exists() and shutil.which("ansible-playbook") is None:
        pytest.skip("ansible-playbook is not installed (pip install -e '.[ansible]')")
    inventory = ",".join(h.name for h in bundle.scenario.spec.hosts) + ","
    env = {
        **os.environ,
        "PATH": f"{binary.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "ANSIBLE_NOCOLOR": "1",
    }
    for step in bundle.scenario.spec.provisioning:
        extra = " ".join(f"{k}=x" for k in step.vars)
        args = [str(binary) if binary.exists() else "ansible-playbook", "--syntax-check", "-i", inventory]
        if extra:
            args += ["-e", extra]
        checked = subprocess.run(
            [*args, str(bundle.playbook_path(step))],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert checked.returncode == 0, f"{step.playbook}: {checked.stdout}\n{checked.stderr}"


@pytest.mark.parametrize("name", [n for n in library.names() if library.load_library(n).spec.provisioning])
def test_library_playbooks_pass_the_syntax_check(name: str, tmp_path: Path) -> None:
    syntax_check(library.bundle(name), tmp_path)


def test_generated_cyris_playbooks_pass_the_syntax_check(tmp_path: Path) -> None:
    imported = import_cyris(FIXTURES / "corpus" / "cyris" / "cyris__examples_full.yml")
    imported.write(tmp_path / "out")
    syntax_check(load_bundle(tmp_path / "out" / "scenario.yaml"), tmp_path)
