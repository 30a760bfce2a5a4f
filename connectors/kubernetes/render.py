"""One team instance as Kubernetes manifests: a pure, deterministic function of the instance.

`render_instance` is what the connector applies and what `federange scenario render` prints. It reads no
clock, no cluster and no randomness (per-instance values arrive in `InstanceSpec.values`), so the same
instance always renders to the same objects with the same names, in apply order: the namespace, its quota
and limits, the NetworkPolicies (before any pod exists, so no pod ever runs unisolated), the injected
ConfigMaps and Secrets, the Services and the Deployments.

A scenario the range will not run is refused here, before anything is created: ConnectorRefusal names
every offending place in the scenario document.
"""

from __future__ import annotations

import json
import re
from typing import Any

from connectors.base import ConnectorRefusal, InstanceSpec
from connectors.kubernetes.injection import injection
from connectors.kubernetes.naming import entry_service_name, namespace_name
from connectors.kubernetes.network import AccessMode, NetworkOptions, network_policies
from connectors.kubernetes.security import PodSecurityLevel, namespace_level
from connectors.kubernetes.tenancy import limit_range, namespace, resource_quota
from connectors.kubernetes.workloads import deployment, services

#: The order objects are applied in (and listed by `render_instance`).
KIND_ORDER = (
    "Namespace",
    "ResourceQuota",
    "LimitRange",
    "NetworkPolicy",
    "ConfigMap",
    "Secret",
    "Service",
    "Deployment",
)
_INSTANCE_ID = re.compile(r"^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$")


def apply_order(obj: dict[str, Any]) -> tuple[int, str]:
    return KIND_ORDER.index(obj["kind"]), obj["metadata"]["name"]


def _check_names(instance: InstanceSpec, access: AccessMode) -> None:
    if not _INSTANCE_ID.fullmatch(instance.instance_id):
        raise ConnectorRefusal(
            f"instance id '{instance.instance_id}' is not a DNS label of at most 20 characters "
            "(lower-case letters, digits and '-')"
        )
    hosts = instance.scenario.spec.hosts
    names = {h.name: i for i, h in enumerate(hosts)}
    if access is AccessMode.NONE:
        return
    for host in hosts:
        entry = entry_service_name(host.name)
        if host.entry and entry in names:
            raise ConnectorRefusal(
                f"spec.hosts[{names[entry]}].name: '{entry}' is also the name of the entry Service of host "
                f"'{host.name}'; rename one of them"
            )


def render_instance(
    instance: InstanceSpec,
    *,
    namespace_prefix: str = "fr",
    pod_security: str = "baseline",
    network: NetworkOptions | None = None,
    registry: str = "",
) -> list[dict[str, Any]]:
    """Every object of `instance`, in apply order. Raises ConnectorRefusal when the range's security
    allowance or Pod Security level refuses the scenario, or the scenario cannot be expressed on
    Kubernetes (with the document path of each problem); images the scenario builds are pulled from
    `registry` (a range without one refuses them)."""
    try:
        required = PodSecurityLevel(pod_security)
    except ValueError as exc:
        raise ValueError(
            f"pod_security: '{pod_security}' is not a Pod Security level (privileged, baseline or restricted)"
        ) from exc
    options = network or NetworkOptions()
    _check_names(instance, options.access)
    level = namespace_level(instance, required=required)
    ns = namespace_name(instance.instance_id, prefix=namespace_prefix)
    hosts = instance.scenario.spec.hosts
    exposed = [h for h in hosts if h.entry and h.ports and options.access is not AccessMode.NONE]
    objects: list[dict[str, Any]] = [
        namespace(instance, name=ns, level=level),
        resource_quota(
            instance,
            namespace=ns,
            node_ports=sum(len(h.ports) for h in exposed),
            load_balancers=len(exposed) if options.access is AccessMode.LOAD_BALANCER else 0,
        ),
        limit_range(instance, namespace=ns),
        *network_policies(instance, namespace=ns, options=options),
    ]
    for index, host in enumerate(hosts):
        injected = injection(instance, host, index=index, namespace=ns)
        objects += injected.objects
        objects += services(instance, host, namespace=ns, access=options.access)
        objects.append(deployment(instance, host, namespace=ns, injected=injected, registry=registry))
    # Plain trees that share no nested dict, within or across objects (callers may change them freely,
    # and YAML output has no anchors): a JSON round trip copies without deepcopy's sharing memo.
    return [json.loads(json.dumps(o)) for o in sorted(objects, key=apply_order)]
