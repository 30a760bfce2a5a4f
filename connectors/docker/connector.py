"""The Docker connector: a small range run by one Docker Engine (or Podman's Docker-compatible API).

Config keys are in connectors.docker.config; the isolation model in connectors.docker.topology; what a
host becomes in connectors.docker.containers. The connector keeps no state: everything it needs to
answer `status`, `list_instances` and `teardown` is in the labels of the objects it created.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import docker.errors

from connectors.base import (
    LABEL_HOST,
    LABEL_INSTANCE,
    LABEL_MANAGED_BY,
    MANAGED_BY,
    CommandResult,
    ConnectorError,
    ImageBuild,
    InstanceRecord,
    InstanceSpec,
    InstanceStatus,
    ProbeResult,
    ProvisioningTarget,
    Resources,
    poll_until_settled,
)
from connectors.capabilities import SuppliedImage
from connectors.docker import images, naming
from connectors.docker.commands import run_command
from connectors.docker.config import DockerConfig
from connectors.docker.deploy import Deployment
from connectors.docker.engine import Engine
from connectors.docker.images import missing_images
from connectors.docker.localimage import supply_image
from connectors.docker.observe import holdings, instance_holdings, instance_records, instance_status
from connectors.docker.teardown import remove_instance
from connectors.docker.topology import limitations
from connectors.security import check_allowance

logger = logging.getLogger(__name__)

#: Attempts for the health probe: an unreachable engine should be reported quickly, not retried long.
PROBE_ATTEMPTS = 2


class DockerConnector:
    kind = "docker"
    config_schema = DockerConfig

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.config = DockerConfig.from_mapping(config)
        self.engine = Engine(self.config, max_pool_size=max(10, self.config.workers * 2))

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> DockerConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Protocol -------------------------------------------------------------------------------------

    def probe(self) -> ProbeResult:
        """Engine version and capacity: the engine's CPUs and memory less what federange containers
        reserve (their limits); slots from config (default 4 per CPU) less the instances present."""
        api = self.engine.api
        try:
            info = self.engine.call("read engine info", api.info, attempts=PROBE_ATTEMPTS)
            ours = self.engine.call(
                "list federange containers",
                lambda: api.containers(all=True, filters={"label": [f"{LABEL_MANAGED_BY}={MANAGED_BY}"]}),
                attempts=PROBE_ATTEMPTS,
            )
        except ConnectorError as exc:
            empty = Resources()
            return ProbeResult(
                healthy=False, version="", observed_free=empty, observed_total=empty, reason=exc.reason
            )
        cpus = int(info.get("NCPU") or 0)
        total = Resources(
            cpu_millicores=cpus * 1000,
            memory_mib=int(info.get("MemTotal") or 0) // (1024 * 1024),
            slots=self.config.slots or cpus * 4,
        )
        labels = [c.get("Labels") or {} for c in ours]
        used_cpu = sum(int(x.get(naming.LABEL_CPU) or 0) for x in labels)
        used_memory = sum(int(x.get(naming.LABEL_MEMORY) or 0) for x in labels)
        instances = {x.get(LABEL_INSTANCE) for x in labels if x.get(LABEL_INSTANCE)}
        free = Resources(
            cpu_millicores=total.cpu_millicores - used_cpu,
            memory_mib=total.memory_mib - used_memory,
            slots=total.slots - len(instances),
        )
        version = f"docker-engine/{info.get('ServerVersion', '?')} ({info.get('OperatingSystem', '?')})"
        return ProbeResult(healthy=True, version=version, observed_free=free, observed_total=total)

    def deploy(self, *, instance: InstanceSpec) -> InstanceStatus:
        """Create or converge the instance's networks, volumes and containers (see deploy.py).

        Refuses (ConnectorRefusal) what the range's security allowance does not permit before creating
        anything; raises ConnectorError with the step and the engine's reason when a step fails, leaving
        the labelled objects created so far for `teardown`."""
        check_allowance(instance)
        for note in limitations(instance.scenario):
            logger.info("instance %s on docker range: %s", instance.instance_id, note)
        Deployment(self.engine, instance).run()
        return self.status(instance_id=instance.instance_id)

    def wait_ready(self, *, instance_id: str, timeout: float) -> InstanceStatus:
        # back-off from 0.1 s, doubling, at most 1 s between polls
        pauses = (min(0.1 * 2**i, 1.0) for i in range(8))
        return poll_until_settled(
            lambda: self.status(instance_id=instance_id),
            instance_id=instance_id,
            timeout=timeout,
            pauses=pauses,
        )

    def status(self, *, instance_id: str) -> InstanceStatus:
        return instance_status(self.engine, instance_id)

    def teardown(self, *, instance_id: str) -> None:
        remove_instance(self.engine, instance_id)

    def list_instances(self) -> Sequence[InstanceRecord]:
        """Instances with objects on the engine; the phase comes from container states alone (no
        readiness probes), which is what reconciliation and orphan detection need."""
        return instance_records(self.engine)

    def provisioning_target(self, *, instance_id: str) -> ProvisioningTarget:
        """Ansible reaches each host through the engine's exec API (community.docker.docker_api); an
        engine behind TLS needs the docker CLI connection instead (docker_api cannot speak TLS)."""
        found = instance_holdings(self.engine, instance_id)
        if not found.containers:
            raise ConnectorError(
                f"instance {instance_id} has no containers on docker range {self.config.base_url}"
            )
        files: dict[str, str] = {}
        base: dict[str, Any]
        if self.config.uses_tls:
            base = {
                "ansible_connection": "community.docker.docker",
                "ansible_docker_extra_args": self._cli_tls_args(files),
            }
        else:
            base = {
                "ansible_connection": "community.docker.docker_api",
                "ansible_docker_docker_host": self.config.base_url,
                "ansible_docker_timeout": max(10, int(self.config.api_timeout)),
            }
        hosts = {}
        for container in found.containers:
            host = (container.get("Labels") or {}).get(LABEL_HOST)
            if host:
                name = container["Names"][0].lstrip("/")
                hosts[host] = {**base, "ansible_host": name, "federange_instance": instance_id}
        return ProvisioningTarget(inventory={"all": {"hosts": hosts}}, files=files)

    def _cli_tls_args(self, files: dict[str, str]) -> str:
        args = [f"-H {self.config.base_url}", "--tlsverify" if self.config.tls_verify else "--tls"]
        for name, text, flag in (
            ("ca.pem", self.config.tls_ca, "--tlscacert"),
            ("cert.pem", self.config.tls_cert, "--tlscert"),
            ("key.pem", self.config.tls_key, "--tlskey"),
        ):
            if text:
                files[name] = text
                args.append(f"{flag} {{{{ federange_files }}}}/{name}")
        return " ".join(args)

    # optional capabilities (connectors.base): commands, images -----------------------------------------

    def run(self, *, instance_id: str, host: str, argv: Sequence[str], timeout: float) -> CommandResult:
        """Run argv in the host's container through the exec API (CommandRunner)."""
        container = naming.container_name(instance_id, host)
        try:
            return run_command(self.engine, container, argv, timeout=timeout)
        except docker.errors.NotFound as exc:
            raise ConnectorError(f"instance {instance_id} has no container for host {host}") from exc
        except docker.errors.APIError as exc:
            raise self.engine.refused(f"run a command in {container}", exc) from exc

    def has_image(self, *, image: str) -> bool:
        return images.has_image(self.engine, image)

    def missing_images(self, *, images: Sequence[str]) -> list[str]:
        return missing_images(self.engine, images)

    def build_image(self, *, build: ImageBuild, on_line: Callable[[str], None]) -> str:
        return images.build_image(self.engine, build, on_line=on_line)

    def export_image(self, *, image: str) -> Iterator[bytes]:
        return images.export_image(self.engine, image)

    def load_images(self, *, archive: Iterable[bytes]) -> None:
        images.load_images(self.engine, archive)

    def push_image(self, *, image: str, reference: str, on_line: Callable[[str], None]) -> None:
        images.push_image(self.engine, image, reference, on_line=on_line)

    # beyond the Protocol ----------------------------------------------------------------------------

    def limitations(self, instance: InstanceSpec) -> list[str]:
        """Where this range enforces less than the instance's scenario declares (for operators)."""
        return limitations(instance.scenario)

    def objects(self, instance_id: str) -> list[str]:
        """`kind:name:id` of every object of the instance on the engine."""
        return instance_holdings(self.engine, instance_id).names()

    def managed_objects(self) -> list[str]:
        """Every object on the engine that federange manages (any instance)."""
        return holdings(self.engine, f"{LABEL_MANAGED_BY}={MANAGED_BY}").names()

    def supply_image(self, image: str, *, local_tag: str) -> SuppliedImage:
        """connectors.capabilities.ImageSupply (see connectors.docker.localimage.supply_image)."""
        return supply_image(self.engine, image, local_tag=local_tag)
