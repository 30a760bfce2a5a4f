"""Read a Prometheus text exposition (a scrape of /metrics) into {(name, labels): value}."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

Sample = tuple[str, frozenset[tuple[str, str]]]


def scrape(http: httpx.Client | str) -> dict[Sample, float]:
    text = (http.get("/metrics") if isinstance(http, httpx.Client) else httpx.get(http, timeout=10)).text
    found: dict[Sample, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def total(samples: dict[Sample, float], name: str, **labels: str) -> float:
    """The sum of every sample of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def grew(before: dict[Sample, float], after: dict[Sample, float], name: str, **labels: str) -> float:
    return total(after, name, **labels) - total(before, name, **labels)
