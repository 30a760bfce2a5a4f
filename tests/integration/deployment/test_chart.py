"""The Helm chart (helm/federange) renders, lints and passes the official schemas, for the default values and
for ci/ha-values.yaml (Ingress, ServiceMonitor, 3 replicas of each role); its pods satisfy Pod Security
`restricted`; its objects fit together (selectors, ports, hooks, policies); its values schema keeps up
with orchestrator/settings.py and refuses values that would leave `restricted`.

helm is the real binary (tests/support/helm.py); the objects are checked with kubernetes-validate in strict
mode against the oldest Kubernetes the chart accepts (Chart.yaml kubeVersion) and the newest one known.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from orchestrator.settings import Settings
from tests.support import pod_security
from tests.support.federange_image import IMAGE
from tests.support.helm import CHART, HA_VALUES, RELEASE, helm, render, values_args

REPO = CHART.parents[1]
OLDEST = "1.27"
NEWEST = ".".join(kubernetes_validate.latest_version().split(".")[:2])
VALUES = {"default": (), "ha": (HA_VALUES,)}
#: Settings the chart sets itself (secrets from Secrets, paths and the listen address) rather than `config`.
CHART_MANAGED = {
    "database_url",
    "secret_key",
    "previous_secret_keys",
    "oidc_issuers",
    "instance_seed",
    "data_dir",
    "host",
    "port",
    "metrics_port",
}


def objects(case: str, *, kube_version: str = "", settings: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return render(VALUES[case], settings, kube_version=kube_version)


def by_kind(rendered: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in rendered if o["kind"] == kind]


def named(rendered: list[dict[str, Any]], kind: str, suffix: str) -> dict[str, Any]:
    found = [o for o in by_kind(rendered, kind) if o["metadata"]["name"] == f"{RELEASE}-federange{suffix}"]
    assert len(found) == 1, f"expected one {kind} {RELEASE}-federange{suffix}, found {len(found)}"
    return found[0]


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def pods(rendered: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(kind/name, pod metadata, pod spec) of every object that runs pods."""
    found = []
    for obj in rendered:
        pod = pod_security.pod_spec_of(obj)
        if pod is not None:
            found.append((f"{obj['kind']}/{obj['metadata']['name']}", *pod))
    return found


# -- the chart as helm sees it -----------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(VALUES))
def test_helm_lint_strict_passes(case: str) -> None:
    out = helm("lint", "--strict", str(CHART), *values_args(VALUES[case])).stdout
    assert "0 chart(s) failed" in out, out


@pytest.mark.parametrize("case", sorted(VALUES))
@pytest.mark.parametrize("version", [OLDEST, NEWEST])
def test_every_rendered_object_passes_the_official_schema_in_strict_mode(case: str, version: str) -> None:
    rendered = objects(case, kube_version=f"{version}.0")
    kinds = {o["kind"] for o in rendered}
    expected = {
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "Job",
        "ServiceAccount",
        "NetworkPolicy",
        "Pod",
    }
    assert expected <= kinds, kinds
    for obj in rendered:
        if obj["kind"] in {"ServiceMonitor", "PodMonitor"}:
            continue  # custom resources: checked against their own schemas below
        kubernetes_validate.validate(obj, version, strict=True)


def test_the_chart_refuses_a_kubernetes_older_than_it_supports() -> None:
    done = helm("template", RELEASE, str(CHART), "--kube-version", "1.26.0", check=False)
    assert done.returncode != 0 and "kubeVersion" in done.stderr, done.stderr


def test_the_values_files_pass_the_values_schema_and_bad_values_are_refused_by_helm() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    defaults = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(schema).validate(defaults)
    refused = {
        "api.replicas=0": "/api/replicas",
        "securityContext.allowPrivilegeEscalation=true": "/securityContext/allowPrivilegeEscalation",
        "securityContext.readOnlyRootFilesystem=false": "/securityContext/readOnlyRootFilesystem",
        "podSecurityContext.runAsUser=0": "/podSecurityContext/runAsUser",
        "podSecurityContext.runAsNonRoot=false": "/podSecurityContext/runAsNonRoot",
        "podSecurityContext.seccompProfile.type=Unconfined": "/podSecurityContext/seccompProfile/type",
        "securityContext.capabilities.drop={NET_RAW}": "/securityContext/capabilities/drop",
        "config.hold_ttl_seconds=5": "/config/hold_ttl_seconds",
        "config.no_such_setting=1": "/config",
        "database.existingSecret=": "/database/existingSecret",
        "image.digest=latest": "/image/digest",
    }
    for setting, field in refused.items():
        done = helm("template", RELEASE, str(CHART), "--set", setting, check=False)
        assert done.returncode != 0, f"--set {setting} was accepted"
        assert field in done.stderr, f"--set {setting}: {done.stderr}"


def test_every_setting_is_configurable_or_set_by_the_chart_and_reaches_the_process_under_its_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    schema = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))
    configurable = set(schema["properties"]["config"]["properties"])
    assert configurable | CHART_MANAGED == set(Settings.model_fields), (
        "a setting of orchestrator/settings.py is missing from values.schema.json's `config` (or gone)"
    )
    assert not configurable & CHART_MANAGED
    chosen = {
        "hold_ttl_seconds": 900,
        "scheduler_tick_seconds": 0.5,
        "probe_interval_seconds": 120,
        "reconcile_interval_seconds": 90,
        "heal_interval_seconds": 45,
        "action_parallelism": 16,
        "action_lease_seconds": 30,
        "ready_timeout_seconds": 300,
        "shutdown_grace_seconds": 25,
        "signin_failures_per_minute": 50,
        "token_lifetime_days": 30,
        "max_body_bytes": 4194304,
        "provisioner": "ansible",
        "base_image": "local/debian:bookworm",
        "default_quota_cpu_millicores": 32000,
        "default_quota_memory_mib": 65536,
        "default_quota_slots": 16,
        "default_quota_gpus": 0,
        "environment_max_ttl_minutes": 240,
        "environment_max_lifetime_minutes": 2880,
        "log_format": "json",
        "log_level": "WARNING",
        "token_cache_seconds": 5,
        "use_case_threads": 12,
        "session_max_age_seconds": 3600,
        "session_https_only": True,
        "console_enabled": False,
        "instance_name": "eu-hub",
        "instance_country": "BE",
        "federation_sync_interval_seconds": 30,
        "federation_timeout_seconds": 5,
        "federation_abort_after_seconds": 90,
        "tls_cert_file": "/etc/federange/tls/tls.crt",
        "tls_key_file": "/etc/federange/tls/tls.key",
        "tls_client_ca_file": "/etc/federange/tls/ca.crt",
    }
    assert set(chosen) == configurable
    rendered = objects("default", settings=tuple(f"config.{k}={v}" for k, v in chosen.items()))
    container = named(rendered, "Deployment", "-scheduler")["spec"]["template"]["spec"]["containers"][0]
    for entry in container["env"]:
        if "value" in entry and entry["name"].startswith("FEDERANGE_"):
            monkeypatch.setenv(entry["name"], entry["value"])
    read = Settings()
    for name, value in chosen.items():
        assert getattr(read, name) == value, name
    assert str(read.data_dir) == "/var/lib/federange" and read.host == "0.0.0.0" and read.port == 8471
    secret_env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    assert secret_env == {
        "FEDERANGE_DATABASE_URL": {"name": "federange-database", "key": "url"},
        "FEDERANGE_SECRET_KEY": {"name": "federange-secret-key", "key": "secret-key"},
    }


def test_the_default_image_is_the_one_the_containerfile_builds_here() -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    assert chart["appVersion"] == version
    assert f"local/federange:{version}" == IMAGE
    images = {c["image"] for _, _, spec in pods(objects("default")) for c in pod_security.containers(spec)}
    assert images == {IMAGE}


# -- Pod Security and the pods' own shape ------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(VALUES))
def test_every_pod_satisfies_pod_security_restricted_with_a_numeric_user(case: str) -> None:
    found = pods(objects(case))
    assert {name.split("/")[0] for name, _, _ in found} == {"Deployment", "Job", "Pod"}
    for name, metadata, spec in found:
        assert pod_security.violations(spec, "restricted", metadata=metadata) == [], name
        context = spec["securityContext"]
        # The kubelet refuses runAsNonRoot with an image user it cannot check: the user must be numeric.
        assert isinstance(context["runAsUser"], int) and context["runAsUser"] > 0, name
        assert spec["automountServiceAccountToken"] is False, name
        assert not spec.get("hostNetwork") and not spec.get("hostPID") and not spec.get("hostIPC"), name
        for container in pod_security.containers(spec):
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
            assert "limits" in container["resources"] and "requests" in container["resources"], name
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
            assert "/tmp" in mounts, name  # the only writable paths are volumes


def test_the_pod_security_check_sees_each_violation() -> None:
    """The check the test above relies on is not vacuous: each change below breaks `restricted`."""
    _, metadata, good = next(p for p in pods(objects("default")) if p[0].endswith("-api"))
    assert pod_security.violations(good, "restricted", metadata=metadata) == []

    def broken(change: Any) -> list[str]:
        spec = json.loads(json.dumps(good))
        change(spec, spec["containers"][0]["securityContext"])
        return pod_security.violations(spec, "restricted", metadata=metadata)

    assert broken(lambda s, c: c.update(allowPrivilegeEscalation=True))
    assert broken(lambda s, c: c.update(capabilities={"drop": ["NET_RAW"]}))
    assert broken(lambda s, c: c.update(capabilities={"drop": ["ALL"], "add": ["NET_ADMIN"]}))
    assert broken(lambda s, c: s["securityContext"].update(runAsNonRoot=False))
    assert broken(lambda s, c: c.update(runAsUser=0))
    assert broken(lambda s, c: s["securityContext"].pop("seccompProfile"))
    assert broken(lambda s, c: c.update(seccompProfile={"type": "Unconfined"}))
    assert broken(lambda s, c: s.update(hostNetwork=True))
    assert broken(lambda s, c: s["volumes"].append({"name": "h", "hostPath": {"path": "/"}}))
    assert broken(lambda s, c: s["containers"][0]["ports"][0].update(hostPort=8471))
    assert broken(lambda s, c: c.update(privileged=True))
    assert broken(lambda s, c: c.update(procMount="Unmasked"))
    assert broken(lambda s, c: s["securityContext"].update(sysctls=[{"name": "kernel.msgmax", "value": "1"}]))


# -- the objects fit together ------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "replicas"), [("default", 2), ("ha", 3)])
def test_the_api_deployment_is_replicated_probed_spread_and_protected_by_a_budget(
    case: str, replicas: int
) -> None:
    rendered = objects(case)
    api = named(rendered, "Deployment", "-api")
    template = api["spec"]["template"]
    labels = template["metadata"]["labels"]
    assert api["spec"]["replicas"] == replicas
    assert matches(api["spec"]["selector"]["matchLabels"], labels)
    container = template["spec"]["containers"][0]
    assert container["args"] == ["api", "--workers", "1"]
    port_names = {p["name"] for p in container["ports"]}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["startupProbe"]["httpGet"]["port"] in port_names
    spread = template["spec"]["topologySpreadConstraints"]
    assert spread and all(matches(c["labelSelector"]["matchLabels"], labels) for c in spread)
    assert "kubernetes.io/hostname" in {c["topologyKey"] for c in spread}
    budget = named(rendered, "PodDisruptionBudget", "-api")
    assert matches(budget["spec"]["selector"]["matchLabels"], labels)
    assert budget["spec"]["maxUnavailable"] == 1
    assert api["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    service = named(rendered, "Service", "-api")
    assert matches(service["spec"]["selector"], labels)
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= port_names


@pytest.mark.parametrize(("case", "replicas"), [("default", 2), ("ha", 3)])
def test_the_scheduler_is_replicated_and_only_the_api_is_behind_the_service(case: str, replicas: int) -> None:
    rendered = objects(case)
    scheduler = named(rendered, "Deployment", "-scheduler")
    labels = scheduler["spec"]["template"]["metadata"]["labels"]
    assert scheduler["spec"]["replicas"] == replicas
    assert scheduler["spec"]["template"]["spec"]["containers"][0]["args"] == ["scheduler"]
    assert matches(
        named(rendered, "PodDisruptionBudget", "-scheduler")["spec"]["selector"]["matchLabels"], labels
    )
    assert not matches(named(rendered, "Service", "-api")["spec"]["selector"], labels)
    for _, metadata, _ in pods(rendered):
        assert matches(scheduler["spec"]["selector"]["matchLabels"], metadata["labels"]) == (
            metadata["labels"]["app.kubernetes.io/component"] == "scheduler"
        )


def test_the_migration_runs_as_a_hook_before_install_and_upgrade() -> None:
    job = named(objects("default"), "Job", "-migrate")
    annotations = job["metadata"]["annotations"]
    assert set(annotations["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
    spec = job["spec"]["template"]["spec"]
    assert spec["restartPolicy"] == "Never"
    assert spec["containers"][0]["args"] == ["db", "upgrade"]
    # Hooks run before the release's ServiceAccount exists: the Job must not need it.
    assert "serviceAccountName" not in spec
    api_env = named(objects("default"), "Deployment", "-api")["spec"]["template"]["spec"]["containers"][0][
        "env"
    ]
    assert spec["containers"][0]["env"] == api_env  # the same database, key and settings as the service
    assert not by_kind(objects("default", settings=("migration.enabled=false",)), "Job")


def test_ingress_and_service_monitor_point_at_the_api_service() -> None:
    rendered = objects("ha")
    service = named(rendered, "Service", "-api")
    ingress = named(rendered, "Ingress", "")
    backends = [
        path["backend"]["service"] for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]
    ]
    assert backends == [{"name": service["metadata"]["name"], "port": {"name": "http"}}]
    assert ingress["spec"]["tls"][0]["secretName"] == "federange-tls"
    monitor = named(rendered, "ServiceMonitor", "-api")
    jsonschema.validate(monitor, SERVICE_MONITOR)
    assert matches(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
    assert {e["port"] for e in monitor["spec"]["endpoints"]} <= {p["name"] for p in service["spec"]["ports"]}
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert not by_kind(objects("default"), "Ingress") and not by_kind(objects("default"), "ServiceMonitor")


def test_the_pod_monitor_scrapes_the_schedulers_metrics_port() -> None:
    rendered = objects("ha")
    monitor = named(rendered, "PodMonitor", "-scheduler")
    jsonschema.validate(monitor, POD_MONITOR)
    scheduler = named(rendered, "Deployment", "-scheduler")["spec"]["template"]
    assert matches(monitor["spec"]["selector"]["matchLabels"], scheduler["metadata"]["labels"])
    (container,) = scheduler["spec"]["containers"]
    assert container["ports"] == [{"name": "metrics", "containerPort": 9464, "protocol": "TCP"}]
    assert {"name": "FEDERANGE_METRICS_PORT", "value": "9464"} in container["env"]
    assert monitor["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"
    default = named(objects("default"), "Deployment", "-scheduler")["spec"]["template"]["spec"]
    assert "ports" not in default["containers"][0] and not by_kind(objects("default"), "PodMonitor")


def test_the_api_runs_the_configured_worker_processes() -> None:
    rendered = objects("default", settings=("api.workers=3",))
    (container,) = named(rendered, "Deployment", "-api")["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["api", "--workers", "3"]


#: A Prometheus duration, as the operator's CRD types it.
DURATION = r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
#: The fields of monitoring.coreos.com/v1 ServiceMonitor the chart uses, as the operator's CRD types them.
SERVICE_MONITOR = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "required": ["selector", "endpoints"],
            "additionalProperties": False,
            "properties": {
                "selector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}}
                    },
                },
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string", "pattern": "^/"},
                            "interval": {
                                "type": "string",
                                "pattern": DURATION,
                            },
                            "scrapeTimeout": {
                                "type": "string",
                                "pattern": DURATION,
                            },
                        },
                    },
                },
            },
        },
    },
}

#: The fields of monitoring.coreos.com/v1 PodMonitor the chart uses, as the operator's CRD types them.
POD_MONITOR = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PodMonitor"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "required": ["selector", "podMetricsEndpoints"],
            "additionalProperties": False,
            "properties": {
                "selector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}}
                    },
                },
                "podMetricsEndpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string"},
                            "interval": {"type": "string", "pattern": DURATION},
                            "scrapeTimeout": {"type": "string", "pattern": DURATION},
                        },
                    },
                },
            },
        },
    },
}


@pytest.mark.parametrize("case", sorted(VALUES))
def test_network_policies_isolate_each_role(case: str) -> None:
    rendered = objects(case)
    policies = by_kind(rendered, "NetworkPolicy")
    ports_of = {
        "api": named(rendered, "Deployment", "-api")["spec"]["template"]["spec"]["containers"][0]["ports"],
    }
    for name, metadata, _ in pods(rendered):
        component = metadata["labels"]["app.kubernetes.io/component"]
        selecting = [
            p for p in policies if matches(p["spec"]["podSelector"]["matchLabels"], metadata["labels"])
        ]
        if component == "test":
            assert selecting == [], name  # `helm test`'s pod talks to the API from inside the release
            continue
        assert len(selecting) == 1, name
        policy = selecting[0]["spec"]
        assert set(policy["policyTypes"]) == {"Ingress", "Egress"}, name
        egress_ports = {(p["port"], p["protocol"]) for rule in policy["egress"] for p in rule["ports"]}
        assert {(53, "UDP"), (53, "TCP"), (5432, "TCP")} <= egress_ports, name
        assert all(rule.get("ports") for rule in policy["egress"]), f"{name}: egress to every port"
        if component == "api":
            (rule,) = policy["ingress"]
            assert [p["port"] for p in rule["ports"]] == [p["name"] for p in ports_of["api"]]
        elif component == "scheduler" and case == "ha":  # scraped: its metrics port, from the scrapers
            (rule,) = policy["ingress"]
            assert [p["port"] for p in rule["ports"]] == ["metrics"]
            assert rule["from"] == named(rendered, "NetworkPolicy", "-api")["spec"]["ingress"][0]["from"][:-1]
        else:
            assert not policy.get("ingress"), f"{name} ({component}) accepts connections"
        if component == "migrate":
            assert egress_ports == {(53, "UDP"), (53, "TCP"), (5432, "TCP")}, name


def test_a_restricted_api_ingress_still_admits_the_release_itself() -> None:
    rendered = objects("ha")
    (rule,) = named(rendered, "NetworkPolicy", "-api")["spec"]["ingress"]
    selectors = [peer.get("podSelector", {}).get("matchLabels") for peer in rule["from"]]
    assert {"app.kubernetes.io/instance": RELEASE} in selectors
    test_pod = next(
        o for o in by_kind(rendered, "Pod") if o["metadata"]["annotations"]["helm.sh/hook"] == "test"
    )
    assert matches({"app.kubernetes.io/instance": RELEASE}, test_pod["metadata"]["labels"])


def test_the_ha_values_file_is_the_one_committed() -> None:
    values = yaml.safe_load(Path(HA_VALUES).read_text(encoding="utf-8"))
    assert values["api"]["replicas"] == 3 and values["scheduler"]["replicas"] == 3
    assert values["ingress"]["enabled"] is True and values["serviceMonitor"]["enabled"] is True
