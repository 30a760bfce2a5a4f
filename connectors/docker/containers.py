"""What one scenario host becomes on a Docker engine: a container plan (pure: no engine calls).

Semantics follow the Kubernetes reading of the scenario format, so a scenario behaves alike on both kinds
of range: `command` replaces the image's entrypoint, `args` its command; limits are the reserved amounts
(limits, else requests) because that is what the booking reserved; only entry hosts publish ports (on
ephemeral host ports); files are written into the container before it starts, templates filled for the
instance, with their modes.

Hardening that keeps exercise images working: `init` as PID 1 (a busybox PID 1 ignores SIGTERM, so
stopping would wait out the timeout; the host's `termination_grace_seconds` is the stop timeout), a pids
limit, no swap beyond the memory limit, and the host's rights from the one security model both container
connectors share (connectors.security.rights): run_as_root hosts keep the engine's default capabilities
but MKNOD, AUDIT_WRITE and SETFCAP, non-root hosts run as their numeric user with every capability
dropped, and `no-new-privileges` unless the host may escalate (root hosts may by default: privilege
escalation is often the exercise).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field

from connectors.base import LABEL_HOST, InstanceSpec
from connectors.docker import naming
from connectors.docker.config import DockerConfig
from connectors.docker.topology import ROLE_EDGE, NetworkPlan, networks_of
from connectors.security import rights
from scenarios.images import is_pinned
from scenarios.materialise import fill
from scenarios.model import Host

MIB = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class FilePlan:
    path: str
    content: bytes
    mode: int


@dataclass(frozen=True, kw_only=True)
class VolumePlan:
    name: str
    mount_path: str
    host_path: str | None
    labels: Mapping[str, str]


@dataclass(frozen=True, kw_only=True)
class ContainerPlan:
    name: str
    host: str
    image: str
    hostname: str
    entrypoint: list[str] | None
    command: list[str] | None
    environment: dict[str, str]
    labels: dict[str, str]
    published: list[str]  # "2222/tcp", only on entry hosts
    networks: list[NetworkPlan]
    files: list[FilePlan]
    volumes: list[VolumePlan]
    nano_cpus: int
    mem_bytes: int
    privileged: bool
    cap_add: list[str]
    cap_drop: list[str]
    host_network: bool
    host_pid: bool
    run_as_root: bool
    #: "uid:gid" for a non-root host (None: the image's user).
    user: str | None = None
    no_new_privileges: bool = False
    stop_timeout: int = 2
    #: The image is built by the scenario (`build:`): looked for on the engine, never pulled.
    built: bool = False
    spec_hash: str = field(default="")

    def host_config_args(self, config: DockerConfig) -> dict[str, object]:
        """Arguments of the SDK's create_host_config for this container."""
        binds = {
            v.host_path if v.host_path is not None else v.name: {"bind": v.mount_path, "mode": "rw"}
            for v in self.volumes
        }
        args: dict[str, object] = {
            "init": True,
            "restart_policy": {"Name": "unless-stopped"},
            "nano_cpus": self.nano_cpus,
            "mem_limit": self.mem_bytes,
            "memswap_limit": self.mem_bytes,
            "pids_limit": config.pids_limit,
            "cap_drop": self.cap_drop,
            "cap_add": self.cap_add or None,
            "privileged": self.privileged,
            "security_opt": ["no-new-privileges:true"] if self.no_new_privileges else None,
            "binds": binds or None,
            "port_bindings": dict.fromkeys(self.published, (config.publish_bind, None)) or None,
        }
        if self.host_network:
            args["network_mode"] = "host"
        elif self.networks:
            args["network_mode"] = self.networks[0].name
        if self.host_pid:
            args["pid_mode"] = "host"
        return args


def files_archive(files: list[FilePlan]) -> bytes:
    """A tar of the files, to unpack at `/` (missing parent folders are created by the engine)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for item in files:
            info = tarfile.TarInfo(item.path.lstrip("/"))
            info.size = len(item.content)
            info.mode = item.mode
            info.mtime = 0
            archive.addfile(info, io.BytesIO(item.content))
    return buffer.getvalue()


def plan_container(
    instance: InstanceSpec,
    host: Host,
    *,
    config: DockerConfig,
    networks: list[NetworkPlan],
) -> ContainerPlan:
    """The container for one host; `networks` is the instance's whole network plan. ValueError for a
    `build:` host whose image was not pinned to its content tag (scenarios.images.pin)."""
    values = instance.values
    if host.build is not None and not is_pinned(host):
        raise ValueError(
            f"host {host.name} builds its image, but this deploy was not given the image's content tag "
            "(the deployer pins built images with scenarios.images.pin)"
        )
    assert host.image is not None  # a host without build has an image (model validator)
    hosts_label = ",".join(h.name for h in instance.scenario.spec.hosts)
    labels = {
        **instance.labels(),
        LABEL_HOST: host.name,
        naming.LABEL_ROLE: "host",
        naming.LABEL_HOSTS: hosts_label,
        naming.LABEL_READINESS: host.readiness.model_dump_json() if host.readiness else "",
        naming.LABEL_CPU: str(host.resources.reserved.cpu_millicores),
        naming.LABEL_MEMORY: str(host.resources.reserved.memory_mib),
    }
    published = [f"{p.port}/{p.protocol.value.lower()}" for p in host.ports] if host.entry else []
    if published:
        labels[naming.LABEL_ENTRY_PORTS] = ",".join(f"{p.port}/{p.protocol.value}" for p in host.ports)
    own_networks = [] if host.security.host_network else networks_of(networks, host.name)
    if published and not any(n.role == ROLE_EDGE for n in own_networks) and not host.security.host_network:
        raise ValueError(f"entry host {host.name} has no edge network to publish on")
    reserved = host.resources.reserved
    granted = rights(host)
    volumes = [
        VolumePlan(
            name=naming.volume_name(instance.instance_id, host.name, v.name),
            mount_path=v.mount_path,
            host_path=v.host_path,
            labels={**instance.labels(), LABEL_HOST: host.name, naming.LABEL_ROLE: "volume"},
        )
        for v in host.volumes
    ]
    plan = ContainerPlan(
        name=naming.container_name(instance.instance_id, host.name),
        host=host.name,
        image=config.image_for(host.image),
        hostname=host.name,
        entrypoint=[fill(c, values) for c in host.command] if host.command is not None else None,
        command=[fill(a, values) for a in host.args] if host.args is not None else None,
        environment={k: fill(v, values) for k, v in host.env.items()},
        labels=labels,
        published=published,
        networks=own_networks,
        files=[
            FilePlan(path=f.path, content=fill(f.content, values).encode("utf-8"), mode=f.mode)
            for f in host.files
        ],
        volumes=volumes,
        nano_cpus=reserved.cpu_millicores * 1_000_000,
        mem_bytes=reserved.memory_mib * MIB,
        privileged=host.security.privileged,
        cap_add=list(granted.added),
        cap_drop=list(granted.dropped),
        host_network=host.security.host_network,
        host_pid=host.security.host_pid,
        run_as_root=host.security.run_as_root,
        user=None if granted.user is None else f"{granted.user}:{granted.group}",
        no_new_privileges=granted.no_new_privileges,
        stop_timeout=host.termination_grace_seconds,
        built=host.build is not None,
    )
    digest = hashlib.sha256(json.dumps(_hashable(plan), sort_keys=True).encode()).hexdigest()[:16]
    return dataclasses.replace(plan, labels={**labels, naming.LABEL_SPEC_HASH: digest}, spec_hash=digest)


def _hashable(plan: ContainerPlan) -> dict[str, object]:
    data = dict(plan.__dict__)
    data["networks"] = [(n.name, n.internal, n.masquerade) for n in plan.networks]
    data["files"] = [(f.path, hashlib.sha256(f.content).hexdigest(), f.mode) for f in plan.files]
    data["volumes"] = [(v.name, v.mount_path, v.host_path) for v in plan.volumes]
    data["labels"] = {k: v for k, v in plan.labels.items() if k != naming.LABEL_SPEC_HASH}
    return data
