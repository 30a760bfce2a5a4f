"""The Pod Security Standards (`baseline` and `restricted`), checked on one pod spec.

Written from the documented controls (kubernetes.io/docs/concepts/security/pod-security-standards), as the
Pod Security admission plugin applies them to a pod (or to the pod template of a workload):

baseline   no Windows HostProcess; no host namespaces (hostNetwork, hostPID, hostIPC); not privileged;
           capabilities added only from the baseline list; no hostPath volumes; no hostPort; AppArmor only
           RuntimeDefault or Localhost; SELinux type only container_t / container_init_t /
           container_kvm_t / container_engine_t and no user or role; procMount Default; seccomp not
           Unconfined; only the safe sysctls.
restricted everything of baseline, and: volumes only of the listed types; allowPrivilegeEscalation false;
           runAsNonRoot true (pod, or every container, and no container saying false); runAsUser not 0;
           seccomp RuntimeDefault or Localhost (pod, or every container); capabilities drop ALL and add at
           most NET_BIND_SERVICE.

Each violation is a sentence naming the control and the container or volume, in the words the admission
plugin uses, so that a refusal (the Kubernetes API double) and a chart test read the same.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

LEVELS = ("privileged", "baseline", "restricted")

BASELINE_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
RESTRICTED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
RESTRICTED_VOLUMES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


def containers(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every container of a pod spec: init, regular and ephemeral."""
    for field in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(field) or []


def pod_spec_of(obj: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
    """(metadata, spec) of the pod an object runs: a Pod, or a workload's pod template; None otherwise."""
    kind = obj.get("kind")
    if kind == "Pod":
        return obj.get("metadata") or {}, obj.get("spec") or {}
    spec = obj.get("spec") or {}
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = spec.get("template")
    if template is None:
        return None
    return template.get("metadata") or {}, template.get("spec") or {}


def violations(
    spec: Mapping[str, Any], level: str, *, metadata: Mapping[str, Any] | None = None
) -> list[str]:
    """What keeps a pod spec from the Pod Security `level` (empty: it satisfies it)."""
    if level not in LEVELS:
        raise ValueError(f"'{level}' is not a Pod Security level ({', '.join(LEVELS)})")
    if level == "privileged":
        return []
    problems = _baseline(spec, metadata or {})
    if level == "restricted":
        problems += _restricted(spec)
    return problems


def _baseline(spec: Mapping[str, Any], metadata: Mapping[str, Any]) -> list[str]:
    pod = spec.get("securityContext") or {}
    problems = []
    if (pod.get("windowsOptions") or {}).get("hostProcess") or any(
        ((c.get("securityContext") or {}).get("windowsOptions") or {}).get("hostProcess")
        for c in containers(spec)
    ):
        problems.append("hostProcess (Windows HostProcess pods are not allowed)")
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(flag):
            problems.append(f"host namespaces ({flag}=true)")
    for volume in spec.get("volumes") or []:
        if "hostPath" in volume:
            problems.append(f'hostPath volumes (volume "{volume.get("name")}")')
    for name, value in (metadata.get("annotations") or {}).items():
        if (
            name.startswith(APPARMOR_ANNOTATION)
            and value not in ("runtime/default",)
            and not (value.startswith("localhost/"))
        ):
            problems.append(f'forbidden AppArmor profile (annotation "{name}={value}")')
    problems += _apparmor_and_selinux("pod", pod)
    profile = (pod.get("seccompProfile") or {}).get("type")
    if profile == "Unconfined":
        problems.append("seccompProfile (pod must not set securityContext.seccompProfile.type=Unconfined)")
    for sysctl in pod.get("sysctls") or []:
        if sysctl.get("name") not in SAFE_SYSCTLS:
            problems.append(f'forbidden sysctls ("{sysctl.get("name")}")')
    for container in containers(spec):
        name = container.get("name")
        context = container.get("securityContext") or {}
        if context.get("privileged"):
            problems.append(f'privileged (container "{name}" must not set securityContext.privileged=true)')
        added = set((context.get("capabilities") or {}).get("add") or [])
        if added - BASELINE_CAPABILITIES:
            problems.append(
                f'non-default capabilities (container "{name}" must not add '
                f"{sorted(added - BASELINE_CAPABILITIES)})"
            )
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                problems.append(f'hostPort (container "{name}" uses hostPort {port["hostPort"]})')
        if context.get("procMount", "Default") != "Default":
            problems.append(f'procMount (container "{name}" must not set procMount={context["procMount"]})')
        if (context.get("seccompProfile") or {}).get("type") == "Unconfined":
            problems.append(f'seccompProfile (container "{name}" must not set Unconfined)')
        problems += _apparmor_and_selinux(f'container "{name}"', context)
    return problems


def _apparmor_and_selinux(where: str, context: Mapping[str, Any]) -> list[str]:
    problems = []
    apparmor = (context.get("appArmorProfile") or {}).get("type")
    if apparmor not in (None, "RuntimeDefault", "Localhost"):
        problems.append(f"forbidden AppArmor profile ({where} sets appArmorProfile.type={apparmor})")
    selinux = context.get("seLinuxOptions") or {}
    if selinux.get("type", "") not in SELINUX_TYPES or selinux.get("user") or selinux.get("role"):
        problems.append(f"seLinuxOptions ({where} sets a forbidden SELinux type, user or role)")
    return problems


def _restricted(spec: Mapping[str, Any]) -> list[str]:
    pod = spec.get("securityContext") or {}
    problems = []
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if "hostPath" not in kinds and not kinds <= RESTRICTED_VOLUMES:
            problems.append(f'restricted volume types (volume "{volume.get("name")}" is {sorted(kinds)})')
    if pod.get("runAsUser") == 0:
        problems.append("runAsUser=0 (pod must not run as root)")
    pod_profile = (pod.get("seccompProfile") or {}).get("type")
    for container in containers(spec):
        name = container.get("name")
        context = container.get("securityContext") or {}
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(
                f'allowPrivilegeEscalation != false (container "{name}" must set '
                "securityContext.allowPrivilegeEscalation=false)"
            )
        capabilities = context.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            problems.append(f'unrestricted capabilities (container "{name}" must drop ALL)')
        added = set(capabilities.get("add") or [])
        if added - RESTRICTED_CAPABILITIES:
            problems.append(
                f'unrestricted capabilities (container "{name}" must not add '
                f"{sorted(added - RESTRICTED_CAPABILITIES)})"
            )
        non_root = context.get("runAsNonRoot", pod.get("runAsNonRoot"))
        if non_root is not True:
            problems.append(f'runAsNonRoot != true (container "{name}" must set runAsNonRoot=true)')
        if context.get("runAsUser") == 0:
            problems.append(f'runAsUser=0 (container "{name}" must not run as root)')
        profile = (context.get("seccompProfile") or {}).get("type", pod_profile)
        if profile not in ("RuntimeDefault", "Localhost"):
            problems.append(
                f'seccompProfile (container "{name}" must set securityContext.seccompProfile.type to '
                '"RuntimeDefault" or "Localhost")'
            )
    return problems
