"""Create or converge every object of one instance on a Docker engine (networks, volumes, containers).

Converging, not creating: each step first looks for the object under its deterministic name, adopts it
when it carries this instance's labels and matches the plan, replaces a container whose plan changed,
and refuses an object of the same name that belongs to something else. So a repeated deploy, or a deploy
after one that failed part-way, ends with exactly one set of objects.

Objects are labelled when created, so whatever exists after a failure is found by `list_instances` and
removed by `teardown`; nothing is orphaned.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import docker.errors
import docker.types

from connectors.base import LABEL_INSTANCE, LABEL_SEGMENT, ConnectorError, ConnectorRefusal, InstanceSpec
from connectors.docker import naming, subnets
from connectors.docker.containers import ContainerPlan, files_archive, plan_container
from connectors.docker.engine import Engine, explain, status_code
from connectors.docker.images import missing_images
from connectors.docker.topology import ROLE_EDGE, NetworkPlan, plan_networks

logger = logging.getLogger(__name__)

#: Attempts at finding a free subnet when other processes create networks at the same time.
SUBNET_ATTEMPTS = 16


class Deployment:
    """One deploy of one instance: the plan, then the steps that converge the engine onto it."""

    def __init__(self, engine: Engine, instance: InstanceSpec) -> None:
        self.engine = engine
        self.config = engine.config
        self.instance = instance
        self.instance_id = instance.instance_id
        self.networks = plan_networks(instance.instance_id, instance.scenario)
        try:
            self.containers = [
                plan_container(instance, host, config=self.config, networks=self.networks)
                for host in instance.scenario.spec.hosts
            ]
        except (KeyError, ValueError) as exc:
            raise ConnectorRefusal(
                f"scenario {instance.scenario.ref} cannot run on this range: {exc}"
            ) from exc

    def run(self) -> None:
        self.check_built_images()
        self.ensure_images()
        self.ensure_networks()
        self.ensure_volumes()
        for plan in self.containers:
            self.ensure_container(plan)

    # images ---------------------------------------------------------------------------------------

    def check_built_images(self) -> None:
        """Refuse, before anything is created, when an image the scenario builds is not on the engine:
        built images are never pulled (their tags exist only where they were built or loaded)."""
        built = sorted({c.image for c in self.containers if c.built})
        missing = missing_images(self.engine, built)
        if missing:
            hosts = ", ".join(c.host for c in self.containers if c.image in missing)
            raise ConnectorRefusal(
                f"scenario {self.instance.scenario.ref} runs images it builds itself that are not on this "
                f"range's Docker engine ({self.config.base_url}): {', '.join(missing)} (host(s) {hosts}); "
                f"build them first: 'federange scenario build {self.instance.scenario.metadata.name}' "
                "(add '--range FILE' with this range's document when it is another engine)"
            )

    def ensure_images(self) -> None:
        api = self.engine.api
        for image in sorted({c.image for c in self.containers}):
            hosts = ", ".join(c.host for c in self.containers if c.image == image)
            # A non-root host runs as its numeric user (connectors.security.rights), whatever the image says.
            try:
                self.engine.call(f"inspect image {image}", partial(api.inspect_image, image))
            except docker.errors.NotFound:
                self._pull(image, hosts)
            except docker.errors.APIError as exc:
                raise self.engine.refused(f"inspect image {image}", exc) from exc

    def _pull(self, image: str, hosts: str) -> Mapping[str, Any]:
        if self.config.pull == "never":
            raise ConnectorError(
                f"image {image} (host {hosts}) is not on the Docker engine and this range's pull policy "
                "is 'never'"
            )
        api = self.engine.api
        repository, _, tag = (
            image.rpartition(":") if ":" in image.rsplit("/", maxsplit=1)[-1] else (image, "", "latest")
        )
        try:
            self.engine.call(f"pull image {image}", lambda: api.pull(repository, tag=tag))
            details: Mapping[str, Any] = self.engine.call(
                f"inspect image {image}", lambda: api.inspect_image(image)
            )
        except docker.errors.APIError as exc:
            raise ConnectorError(f"image {image} (host {hosts}) could not be pulled: {explain(exc)}") from exc
        return details

    # networks -------------------------------------------------------------------------------------

    def _own(self, kind: str, name: str, labels: Mapping[str, str] | None) -> None:
        if (labels or {}).get(LABEL_INSTANCE) != self.instance_id:
            raise ConnectorError(
                f"{kind} name {name} is taken by an object that does not belong to instance "
                f"{self.instance_id}; remove it or choose another instance id"
            )

    def existing_networks(self) -> dict[str, Mapping[str, Any]]:
        api = self.engine.api
        listed: Sequence[Mapping[str, Any]] = self.engine.call(
            f"list networks of {self.instance_id}",
            lambda: api.networks(filters={"label": [f"{LABEL_INSTANCE}={self.instance_id}"]}),
        )
        return {str(n["Name"]): n for n in listed}

    def ensure_networks(self) -> None:
        existing = self.existing_networks()
        for plan in self.networks:
            if plan.name not in existing:
                self._create_network(plan)

    def _network_labels(self, plan: NetworkPlan) -> dict[str, str]:
        labels = {
            **self.instance.labels(),
            naming.LABEL_ROLE: plan.role,
            naming.LABEL_HOSTS: ",".join(h.name for h in self.instance.scenario.spec.hosts),
        }
        if plan.segment:
            labels[LABEL_SEGMENT] = plan.segment.replace("->", "-to-")
        return labels

    def _create_network(self, plan: NetworkPlan) -> None:
        api = self.engine.api
        options = {"com.docker.network.bridge.enable_ip_masquerade": str(plan.masquerade).lower()}
        if plan.role == ROLE_EDGE:
            options["com.docker.network.bridge.enable_icc"] = "false"
        lock = subnets.engine_lock(self.config.base_url)
        tried: list[ipaddress.IPv4Network] = []
        last_error = ""
        for _ in range(SUBNET_ATTEMPTS):
            with lock:
                listed = self.engine.call("list networks", api.networks)
                subnet = subnets.pick_subnet(
                    self.config.address_pool,
                    self.config.subnet_prefix,
                    [*subnets.used_subnets(listed), *tried],
                )
                if subnet is None:
                    raise ConnectorError(
                        f"network {plan.name}: the range's address pool {self.config.address_pool} has no "
                        f"free /{self.config.subnet_prefix} left (too many instances on this engine)"
                    )
                tried.append(subnet)
                ipam = docker.types.IPAMConfig(
                    pool_configs=[docker.types.IPAMPool(subnet=str(subnet), gateway=_gateway(subnet))]
                )
                try:
                    self.engine.call(
                        f"create network {plan.name}",
                        partial(
                            api.create_network,
                            plan.name,
                            driver="bridge",
                            options=options,
                            ipam=ipam,
                            check_duplicate=True,
                            internal=plan.internal,
                            labels=self._network_labels(plan),
                        ),
                        answer=lambda exc: subnets.is_overlap(explain(exc)),
                    )
                    return
                except docker.errors.APIError as exc:
                    if status_code(exc) == 409:  # a retried create met its own network, or a twin
                        found = self.existing_networks()
                        if plan.name in found:
                            return
                        self._own("network", plan.name, None)
                    if subnets.is_overlap(explain(exc)):  # used by something the engine knows, not us
                        last_error = explain(exc)
                        continue
                    raise self.engine.refused(f"create network {plan.name}", exc) from exc
        raise ConnectorError(
            f"network {plan.name}: no free subnet after {SUBNET_ATTEMPTS} tries: {last_error}"
        )

    # volumes --------------------------------------------------------------------------------------

    def ensure_volumes(self) -> None:
        api = self.engine.api
        for plan in self.containers:
            for volume in plan.volumes:
                if volume.host_path is not None:
                    continue
                try:
                    created = self.engine.call(
                        f"create volume {volume.name}",
                        partial(api.create_volume, volume.name, labels=dict(volume.labels)),
                    )
                except docker.errors.APIError as exc:
                    raise self.engine.refused(f"create volume {volume.name}", exc) from exc
                self._own("volume", volume.name, created.get("Labels"))

    # containers -----------------------------------------------------------------------------------

    def ensure_container(self, plan: ContainerPlan) -> None:
        api = self.engine.api
        try:
            current = self.engine.call(
                f"inspect container {plan.name}", lambda: api.inspect_container(plan.name)
            )
        except docker.errors.NotFound:
            current = None
        except docker.errors.APIError as exc:
            raise self.engine.refused(f"inspect container {plan.name}", exc) from exc
        if current is not None:
            labels = (current.get("Config") or {}).get("Labels") or {}
            self._own("container", plan.name, labels)
            if labels.get(naming.LABEL_SPEC_HASH) != plan.spec_hash:
                logger.info("container %s changed its plan: replacing it", plan.name)
                self._remove(plan.name)
                current = None
        if current is None:
            self._create(plan)
            current = self.engine.call(
                f"inspect container {plan.name}", lambda: api.inspect_container(plan.name)
            )
        attached = set(((current.get("NetworkSettings") or {}).get("Networks") or {}).keys())
        for network in plan.networks[1:]:
            if network.name not in attached:
                self._connect(plan, network)
        if (current.get("State") or {}).get("Status") == "created":
            if plan.files:
                archive = files_archive(plan.files)
                self._request(
                    f"copy files into {plan.name}", lambda: api.put_archive(plan.name, "/", archive)
                )
            self._request(f"start container {plan.name}", lambda: api.start(plan.name))

    def _request(self, what: str, request: Any) -> Any:
        try:
            return self.engine.call(what, request)
        except docker.errors.APIError as exc:
            raise self.engine.refused(what, exc) from exc

    def _create(self, plan: ContainerPlan) -> None:
        api = self.engine.api
        host_config = api.create_host_config(**plan.host_config_args(self.config))
        networking = None
        if plan.networks and not plan.host_network:
            first = plan.networks[0]
            networking = api.create_networking_config(
                {first.name: api.create_endpoint_config(aliases=[plan.host])}
            )
        ports = [(int(p.split("/")[0]), p.split("/")[1]) for p in plan.published] or None
        try:
            self.engine.call(
                f"create container {plan.name}",
                lambda: api.create_container(
                    plan.image,
                    name=plan.name,
                    hostname=plan.hostname,
                    entrypoint=plan.entrypoint,
                    command=plan.command,
                    environment=plan.environment,
                    labels=plan.labels,
                    ports=ports,
                    host_config=host_config,
                    networking_config=networking,
                    stop_timeout=plan.stop_timeout,
                    user=plan.user,
                ),
            )
        except docker.errors.APIError as exc:
            if status_code(exc) == 409:  # our own create whose answer was lost, or a foreign container
                current = self.engine.call(
                    f"inspect container {plan.name}", lambda: api.inspect_container(plan.name)
                )
                self._own("container", plan.name, (current.get("Config") or {}).get("Labels"))
                return
            if status_code(exc) == 404:
                raise ConnectorError(
                    f"host {plan.host}: image {plan.image} is missing: {explain(exc)}"
                ) from exc
            raise self.engine.refused(f"create container {plan.name}", exc) from exc

    def _connect(self, plan: ContainerPlan, network: NetworkPlan) -> None:
        api = self.engine.api
        try:
            self.engine.call(
                f"attach {plan.name} to {network.name}",
                lambda: api.connect_container_to_network(plan.name, network.name, aliases=[plan.host]),
            )
        except docker.errors.APIError as exc:
            if "already exists" in explain(exc):
                return
            raise self.engine.refused(f"attach {plan.name} to {network.name}", exc) from exc

    def _remove(self, name: str) -> None:
        api = self.engine.api
        try:
            self.engine.call(
                f"remove container {name}", lambda: api.remove_container(name, v=True, force=True)
            )
        except docker.errors.NotFound:
            return
        except docker.errors.APIError as exc:
            raise self.engine.refused(f"remove container {name}", exc) from exc


def _gateway(subnet: ipaddress.IPv4Network) -> str:
    return str(next(subnet.hosts()))
