"""The Grafana dashboard (docs/grafana-dashboard.json) charts every metric the processes export, and
only those: a renamed or removed metric fails here rather than leaving an empty panel."""

from __future__ import annotations

import json
import re
from pathlib import Path

from orchestrator.wiring import metrics

DASHBOARD = Path(__file__).resolve().parents[3] / "docs" / "grafana-dashboard.json"
#: The gauges `StateCollector` reads from the database at scrape time.
STATE = {"federange_range_healthy", "federange_instances"}


def exported() -> set[str]:
    names = set(STATE)
    for value in vars(metrics).values():
        if hasattr(value, "_name") and hasattr(value, "_type"):
            base = value._name
            kind = value._type
            if kind == "counter":
                names.add(f"{base}_total")
            elif kind == "histogram":
                names |= {f"{base}_bucket", f"{base}_count", f"{base}_sum"}
    return names


def charted() -> set[str]:
    document = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for panel in document["panels"] for t in panel["targets"]]
    return {name for expr in exprs for name in re.findall(r"federange_[a-z_]+", expr)}


def test_the_dashboard_charts_only_exported_metrics() -> None:
    assert charted() - exported() == set()


def test_every_exported_metric_has_a_panel() -> None:
    families = {re.sub(r"_(total|bucket|count|sum)$", "", n) for n in exported()}
    shown = {re.sub(r"_(total|bucket|count|sum)$", "", n) for n in charted()}
    assert families - shown == set()
