"""kCTF challenges import into scenarios: the challenge container with its ports and kCTF's SYS_ADMIN, the
healthcheck as a host of its own with kCTF's /healthz probe, other pod containers beside them; what kCTF
does and Federange does not (proof-of-work, replicas, volumes, allowConnectTo) is in the report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from scenarios.importers.cyris import import_cyris
from scenarios.importers.kctf import import_kctf
from scenarios.importers.kypo import import_kypo
from scenarios.importers.report import Fate, ImportRefused
from scenarios.loader import load_text
from scenarios.serialise import dump_yaml
from scenarios.validation import security_problems

KCTF = Path(__file__).resolve().parents[2] / "fixtures" / "kctf"
PWN = KCTF / "echo-pwn"
WEB = KCTF / "notes-web" / "challenge.yaml"


def edited(tmp_path: Path, source: Path, edit: Callable[[Any], None]) -> Path:
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    edit(data)
    target = tmp_path / "challenge.yaml"
    target.write_text(yaml.safe_dump(data), encoding="utf-8")
    return target


def test_a_pwn_challenge_with_a_healthcheck_and_proof_of_work() -> None:
    imported = import_kctf(PWN)  # the challenge directory
    scenario = imported.scenario
    assert scenario.metadata.name == "echo-pwn"
    assert [h.name for h in scenario.spec.hosts] == ["challenge", "healthcheck"]
    challenge, health = scenario.spec.hosts
    assert challenge.entry and [(p.port, p.protocol.value, p.name) for p in challenge.ports] == [
        (1337, "TCP", "netcat")  # kCTF's default port
    ]
    assert challenge.image == "local/echo-pwn-challenge:imported"
    assert challenge.security.capabilities == ["SYS_ADMIN"]
    assert challenge.readiness is not None and challenge.readiness.tcp_port == 1337
    assert health.readiness is not None and health.readiness.http is not None
    assert (health.readiness.http.port, health.readiness.http.path) == (45281, "/healthz")
    assert not health.entry and health.segments == challenge.segments == ["challenge"]
    (pow_item,) = imported.report.about("spec.powDifficultySeconds")
    assert pow_item.fate is Fate.UNSUPPORTED and pow_item.element == "30"
    (image,) = imported.report.about("spec.image")
    assert "its Dockerfile is beside the challenge" in image.reason
    assert "localhost" in imported.report.about("spec.healthcheck")[-1].reason
    assert load_text(dump_yaml(scenario)) == scenario


def test_a_web_challenge_keeps_ports_env_resources_and_sidecars() -> None:
    imported = import_kctf(WEB)
    challenge = imported.scenario.host("challenge")
    assert challenge.image == "registry.example.org/ctf/notes-web:2.1"
    assert [(p.port, p.name) for p in challenge.ports] == [(8080, "http")]  # the container's targetPort
    assert challenge.env == {"NOTES_MODE": "ctf"}
    assert (
        challenge.resources.requests.cpu_millicores == 250 and challenge.resources.requests.memory_mib == 256
    )
    assert challenge.resources.limits is not None
    assert (challenge.resources.limits.cpu_millicores, challenge.resources.limits.memory_mib) == (1000, 1024)
    cache = imported.scenario.host("cache")
    assert cache.image == "registry.example.org/ctf/redis:7.2" and cache.command == [
        "redis-server",
        "--save",
        "",
    ]
    fates = {(i.path, i.fate) for i in imported.report.items}
    assert ("spec.allowConnectTo", Fate.UNSUPPORTED) in fates
    assert ("spec.podTemplate.template.spec.volumes[0]", Fate.UNSUPPORTED) in fates
    assert ("spec.replicas", Fate.DROPPED) in fates
    assert (
        "spec.podTemplate.template.spec.containers[0].env[1]",
        Fate.DROPPED,
    ) in fates  # FLAG from a secret
    (port,) = imported.report.about("spec.network.ports[0]")
    assert port.reason == "the team reaches the container port 8080 (kCTF exposed it as 80)"


def test_security_validation_says_the_range_must_allow_sys_admin() -> None:
    problems = security_problems(import_kctf(PWN).scenario)
    assert [str(p) for p in problems] == [
        "spec.hosts[0].security.capabilities[0]: adding capability SYS_ADMIN is not allowed on this range"
    ]
    assert security_problems(import_kctf(PWN).scenario, added_capabilities=frozenset({"SYS_ADMIN"})) == []


def test_a_challenge_that_is_not_public_is_no_entry_point(tmp_path: Path) -> None:
    imported = import_kctf(
        edited(tmp_path, WEB, lambda d: d["spec"]["network"].__setitem__("public", "false"))
    )
    assert not imported.scenario.host("challenge").entry
    assert "not public in kCTF" in imported.report.about("spec.network.public")[0].reason


@pytest.mark.parametrize(
    ("edit", "path", "reason"),
    [
        (lambda d: d["spec"]["network"]["ports"][0].__setitem__("protocol", "SCTP"), "spec.network.ports[0].protocol", "expected TCP or UDP"),  # noqa: E501
        (lambda d: d["spec"]["podTemplate"]["template"]["spec"]["containers"][0]["resources"]["limits"].__setitem__("memory", "lots"), "spec.podTemplate.template.spec.containers[0].resources.limits.memory", "not a memory quantity"),  # noqa: E501
        (lambda d: d["spec"].__setitem__("powDifficultySeconds", "a minute"), "spec.powDifficultySeconds", "expected a whole number"),  # noqa: E501
        (lambda d: d["spec"].__setitem__("network", ["public"]), "spec.network", "expected a mapping"),
    ],
)  # fmt: skip
def test_wrong_shapes_are_refused_naming_the_part(
    tmp_path: Path, edit: Callable[[Any], None], path: str, reason: str
) -> None:
    with pytest.raises(ImportRefused) as refused:
        import_kctf(edited(tmp_path, WEB, edit))
    assert refused.value.path == path
    assert refused.value.reason.startswith(reason)


def test_look_alikes_are_told_apart(tmp_path: Path) -> None:
    pod = tmp_path / "pod.yaml"
    pod.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: []}\n")
    with pytest.raises(ImportRefused, match="this looks like a Kubernetes manifest"):
        import_kctf(pod)
    with pytest.raises(ImportRefused, match=r"this looks like a kCTF challenge.yaml \(import it with"):
        import_kypo(WEB)
    with pytest.raises(ImportRefused, match=r"this looks like a kCTF challenge\.yaml"):
        import_cyris(WEB)
