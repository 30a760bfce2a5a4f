"""What busybox `nslookup` answered, read strictly: the tests' DNS checks (beside the TCP probe,
tests/support/probe.py, which never resolves names itself)."""

from __future__ import annotations

import ipaddress

__all__ = ["LookupBroken", "nslookup_addresses"]


class LookupBroken(AssertionError):
    """nslookup said neither addresses nor "unknown": the check fails instead of reading "unresolved"."""


def nslookup_addresses(output: str) -> list[str]:
    """The IPv4 addresses of the answer; [] only when nslookup said the name is unknown or that no server
    answered. Any other output (a crash, a message it never gave) raises LookupBroken."""
    if "Name:" in output:
        found = []
        for word in output.split("Name:", 1)[1].split():
            try:
                found.append(str(ipaddress.IPv4Address(word)))
            except ValueError:
                continue
        if found:
            return found
    said = output.lower()
    if "can't find" in said or "no servers could be reached" in said:
        return []
    raise LookupBroken(f"nslookup gave no answer: {output!r}")
