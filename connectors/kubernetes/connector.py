"""The Kubernetes connector: one namespace per team instance, applied with server-side apply.

How it keeps the Connector contract (connectors/base.py):
- deploy renders the instance (a refusal happens here, before any call), then applies every object in
  order with field manager `federange` (namespace, quota, limits and NetworkPolicies before any pod).
  Applying is idempotent; a redeploy also prunes objects of the instance the new rendering no longer has.
  When an apply fails (after retries) the reason is recorded on the namespace, so the half-made instance
  is still listed (its namespace carries the instance labels from the first call on) and reported FAILED
  with that reason, and teardown removes it whole.
- wait_ready watches the instance's pods, re-reading the instance's state on every change, for at most
  the given timeout; failures surface with the reason Kubernetes gives (image pull, crash loop, quota).
- teardown deletes the namespace (Kubernetes removes its content) and watches until it is gone, within
  `teardown_timeout`; an absent namespace is success. It never deletes a namespace that does not carry
  this instance's labels. `teardown_all` does the same for many instances at once: every namespace is
  deleted first, then one watch waits for all of them (connectors.kubernetes.teardown).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from connectors.base import (
    LABEL_EXERCISE,
    LABEL_HOST,
    LABEL_INSTANCE,
    LABEL_MANAGED_BY,
    LABEL_TEAM,
    MANAGED_BY,
    CommandResult,
    ConnectorError,
    ConnectorRefusal,
    InstanceRecord,
    InstanceSpec,
    InstanceStatus,
    Phase,
    ProbeResult,
    ProvisioningTarget,
    Resources,
    not_ready_after,
)
from connectors.kubernetes import access, capacity, images
from connectors.kubernetes.apiserver import ApiServer, RetryPolicy
from connectors.kubernetes.auth import api_client, kubeconfig_text
from connectors.kubernetes.commands import run_in_pod
from connectors.kubernetes.config import KubernetesConfig, parse_config
from connectors.kubernetes.images import missing_images as registry_missing
from connectors.kubernetes.naming import ANNOTATION_DEPLOY_ERROR, namespace_name
from connectors.kubernetes.ratelimit import TokenBucket
from connectors.kubernetes.readiness import Observed, instance_status
from connectors.kubernetes.render import KIND_ORDER, render_instance
from connectors.kubernetes.teardown import delete_namespaces

log = logging.getLogger(__name__)

STATUS_FIELD_MANAGER = "federange-status"


def _meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = obj.get("metadata") or {}
    return meta


def _labels(obj: Mapping[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = _meta(obj).get("labels") or {}
    return labels


class KubernetesConnector:
    kind = "kubernetes"
    config_schema = KubernetesConfig

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.settings = parse_config(config)
        s = self.settings
        self.api = ApiServer(
            api_client(s),
            limiter=TokenBucket(rate=s.qps, burst=s.burst),
            retry=RetryPolicy(attempts=s.retry_attempts, initial=s.retry_initial, maximum=s.retry_max),
            connect_timeout=s.connect_timeout,
            request_timeout=s.request_timeout,
        )

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> KubernetesConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- naming and rendering -----------------------------------------------------------------------

    def namespace(self, instance_id: str) -> str:
        return namespace_name(instance_id, prefix=self.settings.namespace_prefix)

    def render(self, instance: InstanceSpec) -> list[dict[str, Any]]:
        return render_instance(
            instance,
            namespace_prefix=self.settings.namespace_prefix,
            pod_security=self.settings.pod_security.value,
            network=self.settings.network,
            registry=self.settings.registry,
        )

    def _selector(self, instance_id: str) -> str:
        return f"{LABEL_INSTANCE}={instance_id}"

    # -- probe --------------------------------------------------------------------------------------

    def probe(self) -> ProbeResult:
        try:
            version = str(self.api.version().get("gitVersion", "unknown"))
            nodes, _ = self.api.list("Node")
            pods, _ = self.api.list("Pod", field_selector="status.phase!=Succeeded,status.phase!=Failed")
            instances, _ = self.api.list(
                "Namespace", label_selector=f"{LABEL_MANAGED_BY}={MANAGED_BY},{LABEL_INSTANCE}"
            )
        except ConnectorError as exc:
            zero = Resources()
            return ProbeResult(
                healthy=False, version="", observed_free=zero, observed_total=zero, reason=exc.reason
            )
        total, free = capacity.observed(nodes, pods)
        slots = self.settings.slots
        healthy = any(capacity.schedulable(n) for n in nodes)
        return ProbeResult(
            healthy=healthy,
            version=version,
            observed_total=Resources(
                cpu_millicores=total.cpu_millicores, memory_mib=total.memory_mib, slots=slots, gpus=total.gpus
            ),
            observed_free=Resources(
                cpu_millicores=free.cpu_millicores,
                memory_mib=free.memory_mib,
                slots=max(0, slots - len(instances)),
                gpus=free.gpus,
            ),
            reason="" if healthy else "no node is ready and schedulable for instance pods",
        )

    # -- deploy -------------------------------------------------------------------------------------

    def _owned(self, namespace: Mapping[str, Any], instance_id: str) -> bool:
        labels = _labels(namespace)
        return labels.get(LABEL_MANAGED_BY) == MANAGED_BY and labels.get(LABEL_INSTANCE) == instance_id

    def deploy(self, *, instance: InstanceSpec) -> InstanceStatus:
        objects = self.render(instance)
        images.check_built_images(
            instance.scenario, self.settings.registry, timeout=self.settings.request_timeout
        )
        ns = self.namespace(instance.instance_id)
        existing = self.api.get("Namespace", ns)
        if existing is not None:
            if not self._owned(existing, instance.instance_id):
                raise ConnectorRefusal(
                    f"namespace {ns} already exists and does not belong to instance {instance.instance_id}"
                )
            if _meta(existing).get("deletionTimestamp"):
                raise ConnectorError(
                    f"instance {instance.instance_id} is still being torn down (namespace {ns} is "
                    "terminating); deploy it again once teardown has finished",
                    retryable=True,
                )
        for obj in objects:
            try:
                self.api.apply(obj, field_manager=self.settings.field_manager)
            except ConnectorError as exc:
                reason = f"applying {obj['kind']} {_meta(obj)['name']} failed: {exc.reason}"
                self._record_deploy_error(ns, reason)
                raise ConnectorError(reason, retryable=exc.retryable) from exc
        if existing is not None:
            try:
                self._prune(ns, instance.instance_id, keep={(o["kind"], _meta(o)["name"]) for o in objects})
            except ConnectorError as exc:
                reason = f"removing objects the scenario no longer has failed: {exc.reason}"
                self._record_deploy_error(ns, reason)
                raise ConnectorError(reason, retryable=exc.retryable) from exc
            if ANNOTATION_DEPLOY_ERROR in (_meta(existing).get("annotations") or {}):
                self.api.merge_patch(
                    "Namespace",
                    ns,
                    patch={"metadata": {"annotations": {ANNOTATION_DEPLOY_ERROR: None}}},
                    field_manager=STATUS_FIELD_MANAGER,
                )
        log.info("applied instance %s into namespace %s (%d objects)", instance.instance_id, ns, len(objects))
        return self.status(instance_id=instance.instance_id)

    # -- optional capabilities: access, built images, commands --------------------------------------

    def check_access(self) -> list[str]:
        """Each permission the connector uses (connectors.kubernetes.access) that these credentials lack,
        as the API server answers SelfSubjectAccessReviews (AccessCheck)."""
        return [str(p) for p in access.missing(self.api)]

    def pull_reference(self, *, image: str) -> str:
        """Where nodes pull a built image from: the range's registry (RegistryPull)."""
        return images.pull_reference(self.settings.registry, image)

    def missing_images(self, *, images: Sequence[str]) -> list[str]:
        """The built images the range's registry does not hold (ConnectorRefusal without a registry)."""
        for image in images:
            self.pull_reference(image=image)
        return registry_missing(self.settings.registry, images, timeout=self.settings.request_timeout)

    def run(self, *, instance_id: str, host: str, argv: Sequence[str], timeout: float) -> CommandResult:
        """Run argv in the host's running pod through pods/exec (CommandRunner)."""
        observed = self._observe(instance_id)
        for pod in observed.pods:
            if (
                _labels(pod).get(LABEL_HOST) == host
                and (pod.get("status") or {}).get("phase") == "Running"
                and not _meta(pod).get("deletionTimestamp")
            ):
                return run_in_pod(
                    self.api,
                    namespace=self.namespace(instance_id),
                    pod=str(_meta(pod).get("name")),
                    container=host,
                    argv=argv,
                    timeout=timeout,
                )
        raise ConnectorError(f"host {host} of instance {instance_id} has no running pod")

    def _record_deploy_error(self, ns: str, reason: str) -> None:
        """Best effort: the API may be the thing that failed; the raised error carries the reason anyway."""
        try:
            self.api.merge_patch(
                "Namespace",
                ns,
                patch={"metadata": {"annotations": {ANNOTATION_DEPLOY_ERROR: reason[:1000]}}},
                field_manager=STATUS_FIELD_MANAGER,
            )
        except ConnectorError as exc:
            log.warning("could not record the deploy failure on namespace %s: %s", ns, exc.reason)

    def _prune(self, ns: str, instance_id: str, *, keep: set[tuple[str, str]]) -> None:
        for kind in reversed(KIND_ORDER[1:]):
            items, _ = self.api.list(kind, namespace=ns, label_selector=self._selector(instance_id))
            for item in items:
                name = str(_meta(item).get("name"))
                if (kind, name) not in keep:
                    log.info("pruning %s %s/%s (no longer rendered)", kind, ns, name)
                    self.api.delete(kind, name, namespace=ns)

    # -- status and readiness -----------------------------------------------------------------------

    def _observe(self, instance_id: str) -> Observed:
        ns = self.namespace(instance_id)
        namespace = self.api.get("Namespace", ns)
        if namespace is None or not self._owned(namespace, instance_id):
            return Observed(namespace=None)
        selector = self._selector(instance_id)
        deployments, _ = self.api.list("Deployment", namespace=ns, label_selector=selector)
        pods, version = self.api.list("Pod", namespace=ns, label_selector=selector)
        events, _ = self.api.list("Event", namespace=ns)
        services, _ = self.api.list("Service", namespace=ns, label_selector=selector)
        return Observed(
            namespace=namespace,
            deployments=deployments,
            pods=pods,
            events=events,
            services=services,
            resource_version=version,
        )

    def status(self, *, instance_id: str) -> InstanceStatus:
        return instance_status(
            instance_id, self._observe(instance_id), access_address=self.settings.access_address
        )

    def wait_ready(self, *, instance_id: str, timeout: float) -> InstanceStatus:
        deadline = time.monotonic() + timeout
        ns = self.namespace(instance_id)
        while True:
            observed = self._observe(instance_id)
            current = instance_status(instance_id, observed, access_address=self.settings.access_address)
            if current.phase in (Phase.READY, Phase.FAILED, Phase.ABSENT):
                return current
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                # The instance's own reason names what Kubernetes reports (probes, scheduling, quota).
                return not_ready_after(current, timeout=timeout, why=current.reason)
            self._await_pod_change(
                ns, instance_id, observed.resource_version, min(remaining, self.settings.watch_window)
            )

    def _await_pod_change(self, ns: str, instance_id: str, resource_version: str, window: float) -> None:
        """Return at the first change to the instance's pods, or after `window` seconds (events and
        Deployment conditions, which explain pods that never appear, are re-read by the caller then)."""
        started = time.monotonic()
        events = self.api.watch(
            "Pod",
            namespace=ns,
            resource_version=resource_version,
            timeout=window,
            label_selector=self._selector(instance_id),
        )
        try:
            with contextlib.closing(events):  # leaving early closes the stream at once
                for event in events:
                    if event.get("type") in ("ADDED", "MODIFIED", "DELETED", "ERROR"):
                        return
                    if time.monotonic() - started >= window:
                        return
        except ConnectorError as exc:
            log.debug("watching pods of %s failed (%s); re-reading instead", instance_id, exc.reason)
            time.sleep(min(window, 1.0))

    # -- teardown and inventory ---------------------------------------------------------------------

    def teardown(self, *, instance_id: str) -> None:
        failure = self.teardown_all(instance_ids=[instance_id]).get(instance_id)
        if failure is not None:
            raise failure
        log.info("instance %s torn down", instance_id)

    def teardown_all(self, *, instance_ids: Sequence[str]) -> dict[str, ConnectorError | ConnectorRefusal]:
        """Delete every instance's namespace first, then wait for all of them in one watch (BulkTeardown);
        the failures by instance id."""
        return delete_namespaces(
            self.api,
            {self.namespace(i): i for i in instance_ids},
            owned=self._owned,
            workers=self.settings.max_parallel,
            timeout=self.settings.teardown_timeout,
            window=self.settings.watch_window,
        )

    def list_instances(self) -> Sequence[InstanceRecord]:
        managed = f"{LABEL_MANAGED_BY}={MANAGED_BY}"
        namespaces, _ = self.api.list("Namespace", label_selector=f"{managed},{LABEL_INSTANCE}")
        deployments, _ = self.api.list("Deployment", label_selector=managed)
        pods, _ = self.api.list("Pod", label_selector=managed)
        records = []
        for namespace in namespaces:
            labels = _labels(namespace)
            instance_id = labels[LABEL_INSTANCE]
            if _meta(namespace).get("name") != self.namespace(instance_id):
                continue  # another Federange (other namespace prefix) on the same cluster
            mine = _meta(namespace).get("name")
            status = instance_status(
                instance_id,
                Observed(
                    namespace=namespace,
                    deployments=[d for d in deployments if _meta(d).get("namespace") == mine],
                    pods=[p for p in pods if _meta(p).get("namespace") == mine],
                ),
            )
            records.append(
                InstanceRecord(
                    instance_id=instance_id,
                    exercise=labels.get(LABEL_EXERCISE, ""),
                    team=labels.get(LABEL_TEAM, ""),
                    phase=status.phase,
                )
            )
        return sorted(records, key=lambda r: r.instance_id)

    # -- provisioning -------------------------------------------------------------------------------

    def provisioning_target(self, *, instance_id: str) -> ProvisioningTarget:
        """Ansible reaches each host through the Kubernetes API (`kubernetes.core.kubectl` connection):
        exec into the host's running pod, with the range's kubeconfig written as a private file."""
        observed = self._observe(instance_id)
        if observed.namespace is None:
            raise ConnectorError(f"instance {instance_id} is not deployed on this range")
        ns = self.namespace(instance_id)
        kubeconfig = kubeconfig_text(self.settings)
        running: dict[str, str] = {}
        for pod in observed.pods:
            if (pod.get("status") or {}).get("phase") == "Running" and not _meta(pod).get(
                "deletionTimestamp"
            ):
                running[_labels(pod).get(LABEL_HOST, "")] = str(_meta(pod).get("name"))
        hosts: dict[str, dict[str, Any]] = {}
        expected = sorted({_labels(d).get(LABEL_HOST, "") for d in observed.deployments})
        for host in expected:
            if host not in running:
                raise ConnectorError(f"host {host} of instance {instance_id} has no running pod to provision")
            variables: dict[str, Any] = {
                "ansible_connection": "kubernetes.core.kubectl",
                "ansible_kubectl_namespace": ns,
                "ansible_kubectl_pod": running[host],
                "ansible_kubectl_container": host,
                "federange_instance": instance_id,
            }
            if kubeconfig:
                variables["ansible_kubectl_kubeconfig"] = "{{ federange_files }}/kubeconfig"
                if self.settings.auth.context:
                    variables["ansible_kubectl_context"] = self.settings.auth.context
            hosts[host] = variables
        files = {"kubeconfig": kubeconfig} if kubeconfig else {}
        return ProvisioningTarget(inventory={"all": {"hosts": hosts}}, files=files)
