"""kCTF challenges (`challenge.yaml`: apiVersion kctf.dev/v1, kind Challenge) -> a Federange scenario.

What kCTF does with a challenge (its operator) and what the import makes of it:

- the challenge runs as the container `challenge` of a pod, from `spec.image` (the placeholder
  `challenge` means "built by kCTF from the challenge/ directory"), with CAP_SYS_ADMIN for its nsjail
  sandbox -> host `challenge` on segment `challenge`, asking for SYS_ADMIN (ranges refuse it unless their
  policy allows); a placeholder image gets a local name to build and tag, reported;
- `network.ports` (default: `netcat`, 1337/TCP) -> the host's ports (the container's `targetPort`);
  `network.public` -> the host is an entry point;
- `healthcheck` (enabled: a container `healthcheck` in the same pod serving /healthz on 45281, which the
  challenge's readiness probe asks) -> a host `healthcheck` with that readiness; the challenge itself is
  ready when its first TCP port accepts connections. The two no longer share localhost (reported);
- other containers of `podTemplate` -> hosts of their own beside the challenge (reported);
- proof-of-work (`powDifficultySeconds`), replicas and autoscaling, persistent volumes and
  `allowConnectTo` are reported as unsupported or dropped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from scenarios.importers.kctf_pod import Pod, container_host, read_pod
from scenarios.importers.lookalike import KCTF, read_document, recognise, refuse
from scenarios.importers.names import Namer, dns_label
from scenarios.importers.report import Imported, ImportRefused, ImportReport, refusals_from
from scenarios.importers.shapes import at, flag, integer, mapping, sequence, text
from scenarios.importers.validated import validated

SPEC_KEYS = {
    "image", "deployed", "replicas", "powDifficultySeconds", "network", "healthcheck",
    "horizontalPodAutoscalerSpec", "podTemplate", "persistentVolumeClaims", "allowConnectTo",
}  # fmt: skip
SEGMENT = "challenge"
HEALTHCHECK_PORT = 45281
DEFAULT_PORT = {"name": "netcat", "port": 1337, "targetPort": 1337, "protocol": "TCP"}
PORT_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,13}[a-z0-9])?$")


def import_kctf(path: Path, *, version: str = "1.0.0") -> Imported:
    """Import a kCTF challenge (its challenge.yaml, or the challenge directory holding it)."""
    challenge_file = path / "challenge.yaml" if path.is_dir() else path
    source = str(challenge_file)
    with refusals_from(source):
        data = read_document(challenge_file)
        _check(data, source=source)
        report = ImportReport(source=source)
        meta = mapping(data.get("metadata"), "metadata")
        title = text(meta.get("name"), "metadata.name")
        for key in sorted(set(meta) - {"name"}):
            report.dropped(
                at("metadata", key), "", "Federange gives every instance its own namespace and names"
            )
        spec = mapping(data.get("spec"), "spec")
        hosts = _Challenge(
            spec, directory=challenge_file.parent, name=dns_label(title, fallback="kctf"), report=report
        )
        document = {
            "apiVersion": "federange/v1",
            "kind": "Scenario",
            "metadata": {
                "name": dns_label(title, fallback="kctf"),
                "version": version,
                "title": title[:200],
                "description": f"Imported from the kCTF challenge {challenge_file.name} ({title}).",
                "tags": ["imported", "kctf", "ctf"],
                "annotations": {"federange.eu/imported-from": f"kctf:{challenge_file.name}"},
            },
            "spec": {"segments": [{"name": SEGMENT, "description": "the challenge's pod network"}],
                     "hosts": hosts.build()},
        }  # fmt: skip
        return Imported(scenario=validated(document, source=source), files={}, report=report)


def _check(data: Any, *, source: str) -> None:
    expected = "a kCTF challenge (apiVersion kctf.dev/v1, kind Challenge)"
    if not isinstance(data, dict):
        raise refuse(expected, [], data, source=source, kind=KCTF)
    missing = [k for k in ("apiVersion", "kind", "metadata", "spec") if k not in data]
    if missing:
        raise refuse(expected, missing, data, source=source, kind=KCTF)
    found = recognise(data)
    if found is None or found[0] != KCTF:
        reason = f"not {expected}: apiVersion {data.get('apiVersion')!r}, kind {data.get('kind')!r}"
        if found is not None:
            reason += f"; this looks like {found[1]}"
        raise ImportRefused(reason, source=source)


class _Challenge:
    def __init__(self, spec: dict[str, Any], *, directory: Path, name: str, report: ImportReport) -> None:
        self.spec = spec
        self.directory = directory
        self.name = name
        self.report = report
        self.names = Namer(report, kind="host")

    def build(self) -> list[dict[str, Any]]:
        for key in sorted(set(self.spec) - SPEC_KEYS):
            self.report.dropped(at("spec", key), "", "not a field of kCTF challenges; not imported")
        self._unsupported()
        pod = read_pod(self.spec.get("podTemplate"), "spec.podTemplate", report=self.report)
        challenge = self._challenge(pod)
        hosts = [challenge]
        health = self._healthcheck()
        if health is not None:
            hosts.append(health)
        for where, container in pod.others:
            host = container_host(where, container, names=self.names, segment=SEGMENT, report=self.report)
            hosts.append(host)
        return hosts

    def _unsupported(self) -> None:
        spec, report = self.spec, self.report
        pow_seconds = integer(
            spec.get("powDifficultySeconds"), "spec.powDifficultySeconds", default=0, minimum=0
        )
        if pow_seconds:
            report.unsupported(
                "spec.powDifficultySeconds",
                str(pow_seconds),
                "kCTF's proof-of-work in front of the challenge is not supported: teams connect without "
                "solving one (each team has its own instance, so there is no shared service to protect)",
            )
        if not flag(spec.get("deployed"), "spec.deployed", default=False):
            report.approximated(
                "spec.deployed", "false", "kCTF would not deploy it yet; imported all the same"
            )
        for key in ("replicas", "horizontalPodAutoscalerSpec"):
            if spec.get(key) is not None:
                report.dropped(at("spec", key), "", "Federange runs one host per team instance: no replicas")
        claims = sequence(spec.get("persistentVolumeClaims"), "spec.persistentVolumeClaims")
        if claims:
            report.unsupported(
                "spec.persistentVolumeClaims",
                ", ".join(text(c, p) for p, c in claims),
                "persistent volumes are not supported: hosts get scratch space only",
            )
        peers = sequence(spec.get("allowConnectTo"), "spec.allowConnectTo")
        if peers:
            report.unsupported(
                "spec.allowConnectTo",
                ", ".join(text(c, p) for p, c in peers),
                "connections to other kCTF challenges: each challenge imports as its own scenario; put "
                "them into one scenario by hand to let them talk",
            )

    def _image(self, path: str, value: Any, *, placeholder: str, directory: str) -> str:
        image = text(value, path, default=placeholder)
        if image == placeholder:
            local = f"local/{self.name}-{placeholder}:imported"
            has = (self.directory / directory / "Dockerfile").is_file()
            self.report.approximated(
                path,
                image,
                f"kCTF builds this image from the {directory}/ directory "
                f"({'its Dockerfile is beside the challenge' if has else 'not found beside the file'}): "
                f"build it and tag it {local} where the range can run it, or replace the image",
            )
            return local
        if any(c.isspace() for c in image):
            raise ImportRefused(f"not an image reference: {image!r}", path=path)
        return image

    def _challenge(self, pod: Pod) -> dict[str, Any]:
        host = container_host(
            pod.challenge_path,
            pod.challenge,
            names=self.names,
            segment=SEGMENT,
            report=self.report,
            name="challenge",
            default_resources={"requests": {"cpu_millicores": 450, "memory_mib": 128},
                               "limits": {"cpu_millicores": 900, "memory_mib": 512}},
        )  # fmt: skip
        host["image"] = self._image(
            "spec.image", self.spec.get("image"), placeholder="challenge", directory="challenge"
        )
        host["description"] = "the kCTF challenge container"
        host["security"] = {"capabilities": ["SYS_ADMIN"]}
        self.report.approximated(
            "spec",
            "SYS_ADMIN",
            "kCTF runs the challenge with CAP_SYS_ADMIN (for its nsjail sandbox), AppArmor unconfined and a "
            "read-only root: the host asks for SYS_ADMIN, which a range refuses unless its security policy "
            "allows it",
        )
        network = mapping(self.spec.get("network"), "spec.network")
        ports = self._ports(network)
        if ports:
            host["ports"] = ports
        public = flag(network.get("public"), "spec.network.public", default=False)
        if public and ports:
            host["entry"] = True
        elif public:
            self.report.approximated(
                "spec.network.public", "true", "no port left to expose: not an entry point"
            )
        else:
            self.report.approximated(
                "spec.network.public",
                "false",
                "not public in kCTF (reachable inside the cluster only): the host is not an entry point; set "
                "entry: true to expose it to the team",
            )
        tcp = [p["port"] for p in ports if p.get("protocol", "TCP") == "TCP"]
        if tcp:
            host["readiness"] = {"tcp_port": tcp[0], "period_seconds": 5}
        self.report.approximated(
            "spec",
            self.name,
            "the flag is part of the image or a pod secret, the same for every team: make it a flag variable "
            "and a file to give each team its own",
        )
        return host

    def _ports(self, network: dict[str, Any]) -> list[dict[str, Any]]:
        if network.get("ports") is None:
            self.report.approximated("spec.network.ports", "", "none given: kCTF's default netcat 1337/TCP")
            items: list[tuple[str, Any]] = [("spec.network.ports", DEFAULT_PORT)]
        else:
            items = sequence(network["ports"], "spec.network.ports")
        ports: list[dict[str, Any]] = []
        seen: set[tuple[int, str]] = set()
        for path, item in items:
            entry = mapping(item, path)
            target = entry.get("targetPort", entry.get("port"))
            if isinstance(target, str) and not target.strip().isdigit():
                self.report.dropped(
                    path, target, "a named targetPort cannot be resolved here; port not imported"
                )
                continue
            number = integer(target, at(path, "targetPort"), minimum=1, maximum=65535)
            exposed = integer(entry.get("port"), at(path, "port"), default=number, minimum=1, maximum=65535)
            protocol = text(entry.get("protocol"), at(path, "protocol"), default="TCP").upper()
            if protocol not in ("TCP", "UDP"):
                raise ImportRefused(f"expected TCP or UDP, found {protocol!r}", path=at(path, "protocol"))
            if (number, protocol) in seen:
                self.report.dropped(path, str(number), "the same port twice; imported once")
                continue
            seen.add((number, protocol))
            port: dict[str, Any] = {"port": number, "protocol": protocol}
            name = text(entry.get("name"), at(path, "name"), default="")
            if PORT_NAME.match(name):
                port["name"] = name
            elif name:
                self.report.approximated(at(path, "name"), name, "not a port name Federange accepts; dropped")
            if exposed != number:
                self.report.approximated(
                    path,
                    str(exposed),
                    f"the team reaches the container port {number} (kCTF exposed it as {exposed})",
                )
            ports.append(port)
        return ports

    def _healthcheck(self) -> dict[str, Any] | None:
        check = mapping(self.spec.get("healthcheck"), "spec.healthcheck")
        if not flag(check.get("enabled"), "spec.healthcheck.enabled", default=False):
            return None
        image = self._image(
            "spec.healthcheck.image", check.get("image"), placeholder="healthcheck", directory="healthcheck"
        )
        name = self.names.name("healthcheck", path="spec.healthcheck")
        self.report.approximated(
            "spec.healthcheck",
            name,
            "kCTF runs the healthcheck in the challenge's pod (it reaches the challenge on localhost, and "
            f"the challenge is ready when /healthz on {HEALTHCHECK_PORT} answers); here it is its own host "
            f"'{name}' on the same segment that must reach the challenge as 'challenge', and the "
            "challenge is ready when its port accepts connections",
        )
        return {
            "name": name,
            "description": "the kCTF healthcheck of the challenge",
            "image": image,
            "segments": [SEGMENT],
            "ports": [{"port": HEALTHCHECK_PORT, "name": "healthz"}],
            "readiness": {"http": {"port": HEALTHCHECK_PORT, "path": "/healthz"}, "period_seconds": 5},
            "resources": {"requests": {"cpu_millicores": 50, "memory_mib": 64},
                          "limits": {"cpu_millicores": 1000, "memory_mib": 256}},
        }  # fmt: skip
