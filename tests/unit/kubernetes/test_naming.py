"""Names derived for Kubernetes objects: valid, bounded, deterministic, collision-safe."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from connectors.kubernetes.naming import dns_label, namespace_name, policy_name

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@given(st.text(min_size=0, max_size=200))
def test_any_text_becomes_a_valid_bounded_label(text: str) -> None:
    label = dns_label(text)
    assert DNS_LABEL.match(label), label
    assert len(label) <= 63
    assert dns_label(text) == label


@given(st.text(min_size=1, max_size=120), st.text(min_size=1, max_size=120))
def test_different_texts_get_different_labels(a: str, b: str) -> None:
    if a != b:
        assert dns_label(a) != dns_label(b)


def test_short_valid_names_stay_readable_and_long_ones_keep_a_prefix() -> None:
    assert dns_label("segment-dmz") == "segment-dmz"
    assert namespace_name("i-team-a") == "fr-i-team-a"
    assert namespace_name("i-team-a", prefix="") == "i-team-a"
    long = policy_name("flow", "0", "a" * 40, "to", "b" * 40, "in")
    assert len(long) == 63
    assert long.startswith("flow-0-aaaa")
    assert dns_label("Team A") != "team-a"  # changed text is hashed, so it cannot collide with "team-a"
