"""Rendering one team instance into Kubernetes manifests: valid, deterministic, isolated, least privilege."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from typing import Any

import kubernetes_validate
import pytest

from connectors.base import (
    LABEL_EXERCISE,
    LABEL_HOST,
    LABEL_INSTANCE,
    LABEL_MANAGED_BY,
    LABEL_SCENARIO,
    LABEL_TEAM,
    ConnectorRefusal,
    SecurityAllowance,
)
from connectors.kubernetes.network import AccessMode, NetworkOptions
from connectors.kubernetes.render import KIND_ORDER, render_instance
from scenarios.footprint import footprint
from scenarios.loader import load_text
from scenarios.materialise import secret_names
from scenarios.model import Scenario
from scenarios.serialise import dump_yaml
from tests.unit.kubernetes.scenarios import SCENARIOS, WEB_BREACH, instance, web_breach

KUBERNETES_VERSION = "1.33"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def by(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = by(objects, kind, name)
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


@pytest.fixture(params=sorted(SCENARIOS))
def scenario(request: pytest.FixtureRequest) -> Scenario:
    factory: Callable[[], Scenario] = SCENARIOS[request.param]
    return factory()


def test_every_rendered_object_passes_the_official_schema_in_strict_mode(scenario: Scenario) -> None:
    distinct = {
        json.dumps(obj, sort_keys=True): obj
        for access in AccessMode
        for obj in render_instance(instance(scenario), network=NetworkOptions(access=access))
    }
    for obj in distinct.values():
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_rendering_is_deterministic_and_in_apply_order(scenario: Scenario) -> None:
    first = render_instance(instance(scenario))
    assert first == render_instance(instance(scenario))
    kinds = [KIND_ORDER.index(o["kind"]) for o in first]
    assert kinds == sorted(kinds)
    assert first[0]["kind"] == "Namespace"
    # NetworkPolicies exist before any workload, so no pod ever runs unisolated.
    last_policy = max(i for i, o in enumerate(first) if o["kind"] == "NetworkPolicy")
    assert last_policy < min(i for i, o in enumerate(first) if o["kind"] == "Deployment")


def test_names_are_dns_labels_and_unique_per_kind(scenario: Scenario) -> None:
    objects = render_instance(instance(scenario))
    seen = set()
    for obj in objects:
        name = obj["metadata"]["name"]
        assert DNS_LABEL.match(name) and len(name) <= 63, name
        assert (obj["kind"], name) not in seen
        seen.add((obj["kind"], name))
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == "fr-i-team-a"


def test_every_object_carries_the_instance_labels_and_pods_their_segments(scenario: Scenario) -> None:
    objects = render_instance(instance(scenario))
    for obj in objects:
        labels = obj["metadata"]["labels"]
        assert labels[LABEL_MANAGED_BY] == "federange"
        assert labels[LABEL_INSTANCE] == "i-team-a"
        assert labels[LABEL_EXERCISE] == "Locked-Shields-2027"
        assert labels[LABEL_TEAM] == "Team-A"
        assert labels[LABEL_SCENARIO] == scenario.metadata.name
    for host in scenario.spec.hosts:
        pod_labels = one(objects, "Deployment", host.name)["spec"]["template"]["metadata"]["labels"]
        assert pod_labels[LABEL_HOST] == host.name
        assert {k for k in pod_labels if k.startswith("seg.federange.eu/")} == {
            f"seg.federange.eu/{s}" for s in host.segments
        }


def test_the_quota_is_the_booked_footprint_and_admits_exactly_the_instance(scenario: Scenario) -> None:
    objects = render_instance(instance(scenario))
    booked = footprint(scenario)
    hard = one(objects, "ResourceQuota", "booked-footprint")["spec"]["hard"]
    assert hard["pods"] == str(booked.hosts)
    assert hard["limits.cpu"] == hard["requests.cpu"] == f"{booked.cpu_millicores}m"
    assert hard["limits.memory"] == hard["requests.memory"] == f"{booked.memory_mib}Mi"
    limits_cpu = limits_memory = 0
    for deployment in by(objects, "Deployment"):
        assert deployment["spec"]["replicas"] == 1
        assert deployment["spec"]["strategy"] == {"type": "Recreate"}
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            resources = container["resources"]
            assert set(resources["requests"]) >= {"cpu", "memory"}
            assert set(resources["limits"]) >= {"cpu", "memory"}
            limits_cpu += int(resources["limits"]["cpu"].removesuffix("m"))
            limits_memory += int(resources["limits"]["memory"].removesuffix("Mi"))
    assert (limits_cpu, limits_memory) == (booked.cpu_millicores, booked.memory_mib)
    limit_range = one(objects, "LimitRange", "container-defaults")["spec"]["limits"][0]
    assert (
        limit_range["max"]["cpu"]
        == f"{max(h.resources.reserved.cpu_millicores for h in scenario.spec.hosts)}m"
    )


def test_limits_default_to_requests() -> None:
    objects = render_instance(instance(web_breach()))
    db = one(objects, "Deployment", "db")["spec"]["template"]["spec"]["containers"][0]
    assert db["resources"] == {
        "requests": {"cpu": "250m", "memory": "512Mi"},
        "limits": {"cpu": "250m", "memory": "512Mi"},
    }
    attacker = one(objects, "Deployment", "attacker")["spec"]["template"]["spec"]["containers"][0]
    assert attacker["resources"]["limits"] == {"cpu": "500m", "memory": "512Mi"}


def test_secret_values_never_appear_outside_secrets() -> None:
    spec = instance(web_breach())
    objects = render_instance(spec)
    secrets = [spec.values[name] for name in secret_names(spec.scenario)]
    assert len(secrets) == 3
    for obj in objects:
        text = json.dumps(obj)
        for value in secrets:
            if obj["kind"] == "Secret":
                continue
            assert value not in text, f"a secret value leaked into {obj['kind']} {obj['metadata']['name']}"
    web_env = one(objects, "Secret", "web-env")
    assert base64.b64decode(web_env["data"]["DB_PASSWORD"]).decode() == spec.values["db_password"]
    env = one(objects, "Deployment", "web")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {
        "name": "DB_PASSWORD",
        "valueFrom": {"secretKeyRef": {"name": "web-env", "key": "DB_PASSWORD"}},
    } in env
    assert {"name": "THEME", "value": spec.values["theme"]} in env


def test_secret_values_on_the_command_line_are_expanded_by_the_kubelet_from_a_secret() -> None:
    spec = instance(web_breach())
    objects = render_instance(spec)
    container = one(objects, "Deployment", "api")["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][:2] == ["--token", "$(FEDERANGE_SECRET_admin_token)"]
    assert container["env"][0]["valueFrom"]["secretKeyRef"] == {
        "name": "api-env",
        "key": "FEDERANGE_SECRET_admin_token",
    }
    stored = one(objects, "Secret", "api-env")["data"]["FEDERANGE_SECRET_admin_token"]
    assert base64.b64decode(stored).decode() == spec.values["admin_token"]
    # A filled value can never be read as a $(VAR) reference: its '$' are doubled.
    assert container["args"][3] == "--motd=price: $$(5) or $$HOME"


def test_files_are_mounted_one_by_one_with_their_mode_and_secret_ones_from_a_secret() -> None:
    spec = instance(web_breach())
    objects = render_instance(spec)
    pod = one(objects, "Deployment", "web")["spec"]["template"]["spec"]
    mounts = {m["mountPath"]: m for m in pod["containers"][0]["volumeMounts"]}
    assert mounts["/srv/www/flag.txt"]["name"] == "secret-files"  # names the secret flag variable
    assert mounts["/etc/shop/tls.key"]["name"] == "secret-files"  # marked secret
    assert mounts["/etc/shop/site.conf"]["name"] == "files"
    config_map = one(objects, "ConfigMap", "web-files")
    key = mounts["/etc/shop/site.conf"]["subPath"]
    assert config_map["data"][key] == f"theme = {spec.values['theme']}\n"
    secret = one(objects, "Secret", "web-secret-files")
    flag_key = mounts["/srv/www/flag.txt"]["subPath"]
    assert base64.b64decode(secret["data"][flag_key]).decode() == spec.values["flag"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    modes = {i["key"]: i["mode"] for i in volumes["secret-files"]["secret"]["items"]}
    assert modes[flag_key] == 0o400
    db = one(objects, "Deployment", "db")["spec"]["template"]["spec"]
    assert db["volumes"] == [{"name": "vol-data", "emptyDir": {"sizeLimit": "512Mi"}}]
    assert db["containers"][0]["volumeMounts"] == [
        {"name": "vol-data", "mountPath": "/var/lib/postgresql/data"}
    ]


def test_a_changed_file_changes_the_pod_template_so_the_host_restarts() -> None:
    first = render_instance(instance(web_breach()))
    changed = load_text(WEB_BREACH.replace("theme = {{ vars.theme }}", "colour = {{ vars.theme }}"))
    second = render_instance(instance(changed))
    digest = "federange.eu/config-digest"

    def annotations(objects: list[dict[str, Any]], host: str) -> str:
        return str(one(objects, "Deployment", host)["spec"]["template"]["metadata"]["annotations"][digest])

    assert annotations(first, "web") != annotations(second, "web")
    assert annotations(first, "api") == annotations(second, "api")


def test_two_instances_differ_only_where_the_instance_does() -> None:
    a = render_instance(instance(web_breach(), instance_id="i-team-a"))
    b = render_instance(instance(web_breach(), instance_id="i-team-b", team="Team B"))
    assert [(o["kind"], o["metadata"]["name"]) for o in a[1:]] == [
        (o["kind"], o["metadata"]["name"]) for o in b[1:]
    ]
    assert a[0]["metadata"]["name"] == "fr-i-team-a"
    assert b[0]["metadata"]["name"] == "fr-i-team-b"
    assert one(a, "Secret", "web-env") != one(b, "Secret", "web-env")  # per-team values


def test_services_give_every_host_a_stable_name_and_entry_hosts_an_outside_door() -> None:
    objects = render_instance(instance(web_breach()))
    for host in web_breach().spec.hosts:
        service = one(objects, "Service", host.name)
        assert service["spec"]["clusterIP"] == "None"
        assert service["spec"]["selector"] == {LABEL_INSTANCE: "i-team-a", LABEL_HOST: host.name}
    entry = one(objects, "Service", "attacker-entry")
    assert entry["spec"]["type"] == "NodePort"
    assert entry["spec"]["externalTrafficPolicy"] == "Local"
    assert entry["spec"]["ports"] == [{"name": "ssh", "port": 22, "targetPort": 22, "protocol": "TCP"}]
    assert len(by(objects, "Service")) == len(web_breach().spec.hosts) + 1
    balanced = render_instance(
        instance(web_breach()), network=NetworkOptions(access=AccessMode.LOAD_BALANCER)
    )
    assert one(balanced, "Service", "attacker-entry")["spec"]["type"] == "LoadBalancer"
    assert one(balanced, "ResourceQuota", "booked-footprint")["spec"]["hard"]["services.loadbalancers"] == "1"
    closed = render_instance(instance(web_breach()), network=NetworkOptions(access=AccessMode.NONE))
    assert not by(closed, "Service", "attacker-entry")
    assert not by(closed, "NetworkPolicy", "entry-attacker")


def test_pods_get_no_api_credentials_and_the_rights_their_images_need() -> None:
    """Issue 12, finding 6: a run_as_root host keeps the runtime's default capabilities (su, chown,
    apt-get, gosu work) but MKNOD, AUDIT_WRITE and SETFCAP, and may escalate (sudo); a non-root host gets
    a numeric user (the kubelet refuses runAsNonRoot for a named image user), drops every capability
    and may not escalate."""
    objects = render_instance(instance(web_breach()))
    for deployment in by(objects, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False
        assert pod["enableServiceLinks"] is False
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["terminationGracePeriodSeconds"] == 2
        assert "hostNetwork" not in pod and "hostPID" not in pod
    attacker = one(objects, "Deployment", "attacker")["spec"]["template"]["spec"]
    assert attacker["containers"][0]["securityContext"] == {
        "allowPrivilegeEscalation": True,
        "capabilities": {"drop": ["AUDIT_WRITE", "MKNOD", "SETFCAP"]},
    }
    assert "runAsUser" not in attacker["securityContext"]
    web = one(objects, "Deployment", "web")["spec"]["template"]["spec"]
    assert web["securityContext"]["runAsNonRoot"] is True
    assert (web["securityContext"]["runAsUser"], web["securityContext"]["runAsGroup"]) == (1000, 1000)
    context = web["containers"][0]["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    assert (
        one(objects, "Namespace", "fr-i-team-a")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        == "baseline"
    )


def test_restricted_only_when_every_host_can_satisfy_it() -> None:
    from tests.unit.kubernetes.scenarios import ics_lab

    objects = render_instance(instance(ics_lab()))
    assert objects[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    hmi = one(objects, "Deployment", "hmi")["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    assert hmi["capabilities"] == {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
    # A range that requires restricted refuses a scenario with root hosts, naming each.
    with pytest.raises(ConnectorRefusal) as refused:
        render_instance(instance(web_breach()), pod_security="restricted")
    assert "Pod Security 'restricted'" in refused.value.reason
    assert "spec.hosts[0] (attacker) may run as root" in refused.value.reason
    assert "spec.hosts[1]" not in refused.value.reason  # web runs as non-root


DANGEROUS = """
apiVersion: federange/v1
kind: Scenario
metadata: {name: kernel-lab, version: 1.0.0, title: Kernel lab}
spec:
  segments: [{name: lab}]
  hosts:
    - name: box
      image: registry.example/box:1
      segments: [lab]
      resources: {requests: {cpu_millicores: 100, memory_mib: 64}}
      security: {privileged: true, host_network: true, capabilities: [cap_net_admin]}
      volumes: [{name: dev, mount_path: /dev/host, host_path: /dev}]
"""


def test_dangerous_requests_are_refused_with_every_path_unless_the_range_allows_them() -> None:
    scenario = load_text(DANGEROUS)
    with pytest.raises(ConnectorRefusal) as refused:
        render_instance(instance(scenario, allowance=SecurityAllowance()))
    reason = refused.value.reason
    for path in (
        "spec.hosts[0].security.privileged",
        "spec.hosts[0].security.host_network",
        "spec.hosts[0].security.capabilities[0]",
        "spec.hosts[0].volumes[0].host_path",
    ):
        assert path in reason
    allowed = SecurityAllowance(
        privileged=True, host_namespaces=True, host_path=True, added_capabilities=frozenset({"NET_ADMIN"})
    )
    objects = render_instance(instance(scenario, allowance=allowed))
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    assert objects[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    pod = one(objects, "Deployment", "box")["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True
    assert pod["containers"][0]["securityContext"] == {
        "privileged": True,
        "capabilities": {"add": ["NET_ADMIN"]},
    }
    assert {"name": "vol-dev", "hostPath": {"path": "/dev"}} in pod["volumes"]


def test_an_allowance_for_one_thing_does_not_allow_another() -> None:
    scenario = load_text(DANGEROUS)
    with pytest.raises(ConnectorRefusal) as refused:
        render_instance(instance(scenario, allowance=SecurityAllowance(privileged=True)))
    assert "security.privileged" not in refused.value.reason
    assert "spec.hosts[0].security.host_network" in refused.value.reason


def _scenario_with(host_yaml: str, extra: str = "") -> Scenario:
    return load_text(
        f"""
apiVersion: federange/v1
kind: Scenario
metadata: {{name: edge, version: 1.0.0, title: Edge cases}}
spec:
  {extra}
  segments: [{{name: lab}}]
  hosts:
    - name: box
      image: registry.example/box:1
      segments: [lab]
      resources: {{requests: {{cpu_millicores: 100, memory_mib: 64}}}}
{host_yaml}
"""
    )


@pytest.mark.parametrize(
    ("host_yaml", "expected"),
    [
        (
            "      egress: {cidrs: [10.20.0.0/16]}",
            "spec.hosts[0].egress.cidrs[0]: egress to 10.20.0.0/16 is refused",
        ),
        ("      egress: {cidrs: [not-a-cidr]}", "spec.hosts[0].egress.cidrs[0]: 'not-a-cidr' is not a CIDR"),
        ("      files: [{path: /bin/tool, content: x, mode: 04755}]", "spec.hosts[0].files[0].mode: 0o4755"),
        (
            "      entry: true\n      ports: [{port: 80}]\n"
            "    - {name: box-entry, image: x, segments: [lab], "
            "resources: {requests: {cpu_millicores: 1, memory_mib: 4}}}",
            "spec.hosts[1].name: 'box-entry' is also the name of the entry Service of host 'box'",
        ),
    ],
)
def test_what_kubernetes_cannot_express_is_refused_with_its_path(host_yaml: str, expected: str) -> None:
    with pytest.raises(ConnectorRefusal) as refused:
        render_instance(instance(_scenario_with(host_yaml)))
    assert expected in refused.value.reason


def test_a_missing_variable_value_is_refused_with_its_path() -> None:
    scenario = _scenario_with(
        '      env: {FLAG: "{{ vars.flag }}"}', extra="variables: [{name: flag, kind: flag}]"
    )
    spec = instance(scenario)
    incomplete = type(spec)(
        instance_id=spec.instance_id,
        exercise=spec.exercise,
        team=spec.team,
        scenario_document=dump_yaml(scenario),
        values={},
    )
    with pytest.raises(
        ConnectorRefusal, match=r"spec.hosts\[0\].env.FLAG: the instance has no value for variable 'flag'"
    ):
        render_instance(incomplete)


def test_bad_instance_ids_and_levels_are_refused() -> None:
    with pytest.raises(ConnectorRefusal, match="not a DNS label"):
        render_instance(instance(web_breach(), instance_id="Team_A"))
    with pytest.raises(ValueError, match="pod_security: 'strict' is not a Pod Security level"):
        render_instance(instance(web_breach()), pod_security="strict")


def test_egress_carves_the_cluster_ranges_out_of_what_it_allows() -> None:
    objects = render_instance(instance(web_breach()))
    attacker = one(objects, "NetworkPolicy", "egress-attacker")["spec"]
    block = attacker["egress"][0]["to"][0]["ipBlock"]
    assert block["cidr"] == "0.0.0.0/0"
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"} <= set(block["except"])
    assert attacker["egress"][0]["ports"] == [
        {"protocol": "TCP", "port": 80},
        {"protocol": "TCP", "port": 443},
    ]
    api = one(objects, "NetworkPolicy", "egress-api")["spec"]
    assert api["egress"][0]["to"] == [{"ipBlock": {"cidr": "198.51.100.0/24"}}]
    narrowed = render_instance(
        instance(web_breach()), network=NetworkOptions(cluster_cidrs=("10.244.0.0/16",))
    )
    block = one(narrowed, "NetworkPolicy", "egress-attacker")["spec"]["egress"][0]["to"][0]["ipBlock"]
    assert block["except"] == ["10.244.0.0/16"]


def test_network_options_refuse_entry_ranges_inside_the_cluster() -> None:
    with pytest.raises(
        ValueError, match=r"entry_cidrs\[0\]: 10.8.0.0/16 lies inside cluster_cidrs range 10.0.0.0/8"
    ):
        NetworkOptions(entry_cidrs=("10.8.0.0/16",))
    with pytest.raises(ValueError, match=r"cluster_cidrs\[1\]: 'nope' is not a CIDR"):
        NetworkOptions(cluster_cidrs=("10.0.0.0/8", "nope"))
