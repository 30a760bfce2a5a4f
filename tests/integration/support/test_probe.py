"""The isolation probe itself (tests/support/probe.py) on the real Docker engine.

Everything happens on one internal network this module creates (no route out of the machine):

- `listener` serves TCP on 8080 and nothing on 8081: REACHED and REFUSED;
- `dropper` also serves 8080, but blackholes its replies to the prober (a route in its own network
  namespace, which only it joins): the prober's SYNs arrive and nothing ever comes back: TIMEOUT, while
  a witness that is not blackholed still REACHES the same port (so the drop is the reason, not the port);
- a probe whose `nc` is missing, crashes or says something the probe does not know, and a probe that
  dies itself, raise ProbeBroken: the test fails instead of reading "blocked".
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import docker
import pytest

from tests.integration.connectors.dockerenv import addresses, run_in
from tests.support import probe
from tests.support.images import docker_api, ensure_busybox_image
from tests.support.probe import NOT_REACHED, Outcome, ProbeBroken, Target

pytestmark = pytest.mark.docker


@dataclass(frozen=True)
class Bench:
    api: docker.APIClient
    prober: str
    witness: str
    listener: str
    dropper: str


def _container(
    api: docker.APIClient, image: str, name: str, network: str, command: list[str], **host: Any
) -> str:
    api.create_container(
        image,
        command=command,
        name=name,
        labels={"federange.test/probe": name},
        host_config=api.create_host_config(init=True, network_mode=network, **host),
    )
    api.start(name)
    return name


def _address(api: docker.APIClient, container: str) -> str:
    (address,) = addresses(api, container)
    return address


@pytest.fixture(scope="module")
def bench() -> Iterator[Bench]:
    api = docker_api()
    image = ensure_busybox_image(api)
    prefix = f"probe-{uuid.uuid4().hex[:8]}"
    network = api.create_network(
        prefix, driver="bridge", internal=True, labels={"federange.test/probe": prefix}
    )
    names: list[str] = []
    try:
        serve = ["httpd", "-f", "-p", "8080", "-h", "/tmp"]
        idle = ["sleep", "3600"]
        for role, command, extra in (
            ("prober", idle, {}),
            ("witness", idle, {}),
            ("listener", serve, {}),
            ("dropper", serve, {"cap_add": ["NET_ADMIN"]}),
        ):
            names.append(_container(api, image, f"{prefix}-{role}", prefix, command, **extra))
        prober, witness, listener, dropper = names
        blackhole = run_in(api, dropper, ["ip", "route", "add", "blackhole", f"{_address(api, prober)}/32"])
        assert blackhole.code == 0, blackhole.output
        for name, port in ((listener, 8080), (dropper, 8080)):
            ready = run_in(
                api,
                witness,
                ["sh", "-c", f"until nc -w 1 {_address(api, name)} {port} </dev/null; do sleep 0.1; done"],
            )
            assert ready.code == 0, f"{name} never listened: {ready.output}"
        yield Bench(api, prober, witness, _address(api, listener), _address(api, dropper))
    finally:
        for name in names:
            api.remove_container(name, force=True)
        api.remove_network(network["Id"])
        api.close()


def _one(bench: Bench, source: str, target: Target) -> Outcome:
    result = run_in(bench.api, source, probe.command(target))
    return probe.verdict(result.output, result.code, target=target)


def test_a_listening_port_is_reached(bench: Bench) -> None:
    assert _one(bench, bench.prober, Target(bench.listener, 8080)) is Outcome.REACHED


def test_a_closed_port_is_refused(bench: Bench) -> None:
    assert _one(bench, bench.prober, Target(bench.listener, 8081)) is Outcome.REFUSED


def test_a_dropped_port_times_out_while_it_still_answers_others(bench: Bench) -> None:
    assert _one(bench, bench.prober, Target(bench.dropper, 8080)) is Outcome.TIMEOUT
    assert _one(bench, bench.witness, Target(bench.dropper, 8080)) is Outcome.REACHED


def test_a_batch_gives_every_target_its_own_verdict(bench: Bench) -> None:
    targets = [
        Target(bench.listener, 8080),
        Target(bench.listener, 8081),
        Target(bench.dropper, 8080),
    ]
    result = run_in(bench.api, bench.prober, probe.batch_command(targets))
    assert probe.verdicts(result.output, result.code, targets) == {
        targets[0]: Outcome.REACHED,
        targets[1]: Outcome.REFUSED,
        targets[2]: Outcome.TIMEOUT,
    }
    probe.expect(
        {t: o for t, o in probe.verdicts(result.output, result.code, targets).items() if t != targets[0]},
        NOT_REACHED,
        where="prober",
    )
    with pytest.raises(AssertionError, match="expected TIMEOUT"):
        probe.expect(probe.verdicts(result.output, result.code, targets), Outcome.TIMEOUT, where="prober")


# Broken probes: the probe script with `nc` replaced by a shell function (functions come before
# busybox's built-in applets, whatever PATH says).
CRASHING_NC = "nc() { sh -c 'kill -SEGV $$'; }\n"  # dies of SIGSEGV without a word, as wget -T did
MISSING_NC = 'nc() { command /nonexistent/nc "$@"; }\n'
CHATTY_NC = "nc() { echo 'nc: bad address' >&2; return 1; }\n"  # a failure the probe does not know


@pytest.mark.parametrize(
    ("broken", "said"),
    [(CRASHING_NC, "exited 139"), (MISSING_NC, "exited 127"), (CHATTY_NC, "bad address")],
    ids=["crash", "missing", "unknown-message"],
)
@pytest.mark.parametrize("port", [8080, 8081])
def test_a_broken_nc_fails_the_test_instead_of_counting_as_blocked(
    bench: Bench, broken: str, said: str, port: int
) -> None:
    target = Target(bench.listener, port)
    result = run_in(bench.api, bench.prober, probe.command(target, script=broken + probe.SCRIPT))
    with pytest.raises(ProbeBroken, match=said):
        probe.verdict(result.output, result.code, target=target)


def test_a_probe_that_dies_itself_fails_the_test(bench: Bench) -> None:
    target = Target(bench.dropper, 8080)
    result = run_in(bench.api, bench.prober, probe.command(target, script="kill -SEGV $$\n" + probe.SCRIPT))
    assert result.code == 139
    with pytest.raises(ProbeBroken):
        probe.verdict(result.output, result.code, target=target)


def test_one_broken_probe_in_a_batch_fails_the_whole_batch(bench: Bench) -> None:
    targets = [Target(bench.listener, 8081), Target(bench.dropper, 8080)]
    result = run_in(bench.api, bench.prober, probe.batch_command(targets, script=CRASHING_NC + probe.SCRIPT))
    with pytest.raises(ProbeBroken, match="exited 139"):
        probe.verdicts(result.output, result.code, targets)
