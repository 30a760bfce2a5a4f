"""The one TCP reachability probe of the isolation tests (Docker and Kubernetes alike).

A probe runs *inside* a container that has busybox `sh` and `nc` (the tests' busybox image, the e2e image)
and answers exactly one word:

- `REACHED`: the TCP connection was established;
- `REFUSED`: a definite "no" came back at once: the peer's TCP reset (nothing listens there), or an ICMP
  unreachable / no route from the network;
- `TIMEOUT`: nothing came back within the wait: the packets were dropped (a firewall, a NetworkPolicy
  that drops, Docker's isolation between bridges).

(An on-link address that nobody holds reads TIMEOUT while the kernel is still asking for it and REFUSED -
"no route to host" - once it has given up: a test never uses one as "the dropped case".)

Anything else - nc missing, nc crashing (busybox 1.35's `wget -T` segfaulted on a real node: exit 139),
an unexpected message, extra output, the exec itself dying - is `ProbeBroken`, an AssertionError: a test
that expected "blocked" fails instead of passing for the wrong reason. Callers assert the outcome they
expect explicitly (`expect`), never "anything but REACHED".

The target is always an IPv4 address: busybox nc resolves names under its own alarm, so a slow or failing
DNS lookup would read as TIMEOUT. Tests resolve names themselves (the engine's or the API's view of the
address) and check DNS with its own explicit assertions.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "NOT_REACHED",
    "SCRIPT",
    "Outcome",
    "ProbeBroken",
    "Target",
    "batch_command",
    "command",
    "expect",
    "verdict",
    "verdicts",
]

#: Seconds a probe waits for an answer by default (TIMEOUT after that).
WAIT = 2

# $1 address, $2 port, $3 seconds to wait. Everything nc says is captured; the probe itself prints only
# the verdict, or a line starting "probe:" and a non-zero exit when it cannot give one.
SCRIPT = r"""
case "$1" in ""|*[!0-9.]*) echo "probe: not an IPv4 address: '$1'"; exit 64 ;; esac
case "$2" in ""|*[!0-9]*) echo "probe: not a port: '$2'"; exit 64 ;; esac
said=$(nc -w "${3:-2}" "$1" "$2" </dev/null 2>&1 >/dev/null)
rc=$?
case "$rc:$said" in
  0:) echo REACHED ;;
  1:*"Connection refused"*|1:*"No route to host"*|1:*"Network is unreachable"*) echo REFUSED ;;
  1:*"timed out"*) echo TIMEOUT ;;
  *) echo "probe: nc exited $rc: $said"; exit 70 ;;
esac
"""

# $1 the probe script, $2 the wait, then address/port pairs: every probe runs in parallel and reports one
# line `probe <address>:<port> <exit code> <output on one line>` (one printf each: lines stay whole).
_BATCH = r"""
script=$1; wait_s=$2; shift 2
while [ "$#" -ge 2 ]; do
  (
    out=$(sh -c "$script" probe "$1" "$2" "$wait_s" 2>&1)
    rc=$?
    printf 'probe %s:%s %s %s\n' "$1" "$2" "$rc" "$(printf '%s' "$out" | tr '\n' ' ')"
  ) &
  shift 2
done
wait
"""


class Outcome(enum.Enum):
    REACHED = "REACHED"
    REFUSED = "REFUSED"
    TIMEOUT = "TIMEOUT"


#: What "blocked" may look like where the enforcer may either drop or reject (a NetworkPolicy plugin).
NOT_REACHED = frozenset({Outcome.REFUSED, Outcome.TIMEOUT})


class ProbeBroken(AssertionError):
    """The probe gave no verdict: the test fails (it never counts as "blocked")."""


@dataclass(frozen=True, order=True)
class Target:
    address: str
    port: int

    def __post_init__(self) -> None:
        ipaddress.IPv4Address(self.address)  # a name here would make DNS part of the verdict
        if not 0 < self.port < 65536:
            raise ValueError(f"not a TCP port: {self.port}")

    def __str__(self) -> str:
        return f"{self.address}:{self.port}"


def command(target: Target, *, wait: int = WAIT, script: str = SCRIPT) -> list[str]:
    """The argv that probes one target inside a container (`script`: the probe's own tests break it)."""
    return ["sh", "-c", script, "probe", target.address, str(target.port), str(wait)]


def batch_command(targets: Iterable[Target], *, wait: int = WAIT, script: str = SCRIPT) -> list[str]:
    """The argv that probes every target in parallel (about `wait` seconds in all)."""
    pairs = [part for t in targets for part in (t.address, str(t.port))]
    return ["sh", "-c", _BATCH, "batch", script, str(wait), *pairs]


def verdict(output: str, exit_code: int, *, target: Target | str = "") -> Outcome:
    """The outcome of one probe from its whole output (stdout and stderr) and exit code."""
    word = output.strip()
    if exit_code == 0 and word in Outcome.__members__:
        return Outcome(word)
    raise ProbeBroken(f"the probe of {target or 'a target'} gave no verdict (exit {exit_code}): {output!r}")


def verdicts(output: str, exit_code: int, targets: Sequence[Target]) -> dict[Target, Outcome]:
    """The outcome of every target of a `batch_command` run; any target without exactly one verdict,
    any unexpected line, and a failed batch raise ProbeBroken."""
    wanted = {str(t): t for t in targets}
    found: dict[Target, Outcome] = {}
    for line in output.splitlines():
        if not line.strip():
            continue
        parts = line.split(" ", 3)
        if len(parts) < 3 or parts[0] != "probe" or parts[1] not in wanted:
            raise ProbeBroken(f"unexpected line from the probes: {line!r} (exit {exit_code})")
        target = wanted[parts[1]]
        if target in found:
            raise ProbeBroken(f"{target} was reported twice: {output!r}")
        try:
            code = int(parts[2])
        except ValueError as exc:
            raise ProbeBroken(f"unexpected line from the probes: {line!r}") from exc
        found[target] = verdict(parts[3] if len(parts) > 3 else "", code, target=target)
    missing = sorted(t for t in targets if t not in found)
    if missing or exit_code != 0:
        raise ProbeBroken(
            f"no verdict for {', '.join(map(str, missing)) or 'some targets'} (exit {exit_code}): {output!r}"
        )
    return found


def expect(outcomes: dict[Target, Outcome], allowed: Outcome | frozenset[Outcome], *, where: str) -> None:
    """Assert every outcome is the expected one (or one of the expected ones), naming each one that is not."""
    accepted = allowed if isinstance(allowed, frozenset) else frozenset({allowed})
    wrong = {str(t): o.value for t, o in sorted(outcomes.items()) if o not in accepted}
    names = "/".join(sorted(o.value for o in accepted))
    assert not wrong, f"{where}: expected {names}, got {wrong}"
