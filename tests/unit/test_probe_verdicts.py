"""The isolation probe's verdict parsing (tests/support/probe.py): one verdict word or ProbeBroken.

The probe on a real engine is tests/integration/support/test_probe.py.
"""

from __future__ import annotations

import pytest

from tests.support import probe
from tests.support.probe import Outcome, ProbeBroken, Target


def test_anything_but_one_verdict_word_is_broken() -> None:
    target = Target("127.0.0.1", 1)
    for output, code in (
        ("", 0),
        ("REFUSED\n", 1),  # the right word with a failing exit code
        ("REFUSED TIMEOUT", 0),
        ("nc: timed out", 0),
        ("Segmentation fault", 139),
        ("blocked", 0),
    ):
        with pytest.raises(ProbeBroken):
            probe.verdict(output, code, target=target)
    assert probe.verdict("TIMEOUT\n", 0, target=target) is Outcome.TIMEOUT
    with pytest.raises(ProbeBroken, match=r"no verdict for 127\.0\.0\.1:1"):
        probe.verdicts("", 0, [target])
    with pytest.raises(ProbeBroken, match="unexpected line"):
        probe.verdicts("probe 127.0.0.1:1 0 REACHED\nprobe 127.0.0.9:1 0 REACHED\n", 0, [target])
    with pytest.raises(ValueError, match="4 octets"):
        Target("web", 80)
