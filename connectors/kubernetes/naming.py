"""Names and label keys of the objects Federange renders into a cluster.

Every name is a DNS-1123 label (lower-case alphanumerics and '-', at most 63 characters) derived only from
the instance id, the scenario's names and fixed words, so the same input always gives the same names and a
redeploy converges the objects it created before instead of creating new ones. A name that would be too
long keeps a readable prefix and ends in a hash of the full text, so two long names never collide.
"""

from __future__ import annotations

import hashlib
import re

#: The label each pod carries once per segment it sits on: NetworkPolicies select segments with it.
SEGMENT_LABEL_PREFIX = "seg.federange.eu/"
#: Annotations on the instance namespace.
ANNOTATION_HOSTS = "federange.eu/hosts"
ANNOTATION_OBJECTS = "federange.eu/objects"
ANNOTATION_DEPLOY_ERROR = "federange.eu/deploy-error"
ANNOTATION_SCENARIO_REF = "federange.eu/scenario-ref"
#: Annotation on pod templates: a digest of the host's injected files and secrets (changes restart it).
ANNOTATION_CONFIG_DIGEST = "federange.eu/config-digest"

DNS_LABEL_MAX = 63
_INVALID = re.compile(r"[^a-z0-9-]+")


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def dns_label(text: str, *, max_length: int = DNS_LABEL_MAX) -> str:
    """`text` as a DNS-1123 label of at most `max_length` characters (deterministic, collision-safe).

    Text that already is a short enough label is returned unchanged. Any other text (too long, or with
    characters a label cannot hold) keeps a cleaned prefix followed by '-' and 8 hex digits of a hash of
    the original text, so two different texts never end up with the same name.
    """
    if max_length < 10:
        raise ValueError("a DNS label budget below 10 characters cannot hold a hashed name")
    cleaned = _INVALID.sub("-", text.lower()).strip("-")
    if cleaned and cleaned == text and len(cleaned) <= max_length:
        return cleaned
    head = cleaned[: max_length - 9].rstrip("-") or "x"
    return f"{head}-{_digest(text, 8)}"


def namespace_name(instance_id: str, *, prefix: str = "fr") -> str:
    """The namespace that holds every object of one instance."""
    if not prefix:
        return dns_label(instance_id)
    return dns_label(f"{prefix}-{instance_id}")


def segment_label(segment: str) -> str:
    """The pod label key that marks membership of `segment` (value "true")."""
    return f"{SEGMENT_LABEL_PREFIX}{segment}"


def entry_service_name(host: str) -> str:
    """The Service through which a team reaches an entry host from outside the cluster."""
    return dns_label(f"{host}-entry")


def env_secret_name(host: str) -> str:
    """The Secret holding the environment values of a host that contain secret variables."""
    return dns_label(f"{host}-env")


def files_config_map_name(host: str) -> str:
    return dns_label(f"{host}-files")


def files_secret_name(host: str) -> str:
    return dns_label(f"{host}-secret-files")


def policy_name(*parts: str) -> str:
    return dns_label("-".join(parts))


def port_name(port: int, protocol: str) -> str:
    """An IANA service name for a port (at most 15 characters): `tcp-8080`."""
    return f"{protocol.lower()}-{port}"
