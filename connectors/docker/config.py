"""The Docker range's connector config: parsed once from the range's mapping, every bad field named.

    key              meaning                                                      default
    base_url         engine address: unix:///var/run/docker.sock, tcp://h:2376     unix:///var/run/docker.sock
    tls_ca/tls_cert/tls_key  PEM text (secrets) for a TLS-protected tcp:// engine  none
    tls_verify       verify the engine's certificate against tls_ca               true
    image_map        scenario image -> image to run (mirror, air-gapped images)   {}
    pull             never | if-missing                                           if-missing
    publish_host     address printed in entry endpoints                          127.0.0.1
    publish_bind     host address entry ports are published on                   0.0.0.0
    address_pool     private CIDR the instance networks' subnets come from        10.213.0.0/16
    subnet_prefix    prefix length of each instance network                      26
    api_timeout      seconds one engine request may take                          30
    retries          attempts for a request failing with 5xx/connection errors    4
    retry_wait       first back-off between attempts (doubles, capped at 2 s)      0.2
    stop_timeout     seconds a container gets to stop before it is killed          5
    teardown_timeout seconds teardown waits for every object to be gone            60
    pids_limit       processes per container                                      1024
    settle_seconds   a host without readiness probe is ready after running this   1
    slots            instance slots the range offers                              4 x engine CPUs
    workers          parallel deploys in `deploy_many`                            4

Our own address pool matters: Docker's default pools hold about 30 networks, far fewer than a range of
a few dozen team instances with two or three segments each needs.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.base import ConnectorError

PULL_POLICIES = ("never", "if-missing")
DEFAULT_POOL = ipaddress.IPv4Network("10.213.0.0/16")


def _bad(name: str, reason: str) -> ConnectorError:
    return ConnectorError(f"docker connector config '{name}': {reason}")


def _number(config: Mapping[str, Any], name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = config.get(name, default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise _bad(name, f"expected a number, got {raw!r}") from None
    if value < minimum:
        raise _bad(name, f"must be at least {minimum:g}, got {value:g}")
    return value


def _text(config: Mapping[str, Any], name: str, default: str = "") -> str:
    raw = config.get(name, default)
    if raw is None:
        return default
    if not isinstance(raw, str):
        raise _bad(name, f"expected text, got {type(raw).__name__}")
    return raw


@dataclass(frozen=True, kw_only=True)
class DockerConfig:
    base_url: str = "unix:///var/run/docker.sock"
    tls_ca: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    tls_verify: bool = True
    image_map: Mapping[str, str] = field(default_factory=dict)
    pull: str = "if-missing"
    publish_host: str = "127.0.0.1"
    publish_bind: str = "0.0.0.0"  # noqa: S104 - entry points are meant to be reached by the teams
    address_pool: ipaddress.IPv4Network = DEFAULT_POOL
    subnet_prefix: int = 26
    api_timeout: float = 30.0
    retries: int = 4
    retry_wait: float = 0.2
    stop_timeout: int = 5
    teardown_timeout: float = 60.0
    pids_limit: int = 1024
    settle_seconds: float = 1.0
    slots: int = 0  # 0: 4 x the engine's CPUs
    workers: int = 4

    @property
    def uses_tls(self) -> bool:
        return bool(self.tls_cert or self.tls_ca)

    def image_for(self, image: str) -> str:
        """The image the range runs for a scenario's image reference."""
        return self.image_map.get(image, image)

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any] | None) -> DockerConfig:
        """Parse a range's connector config; raises ConnectorError naming the field and the reason."""
        config = dict(config or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(config) - known)
        if unknown:
            raise _bad(unknown[0], f"unknown key (known: {', '.join(sorted(known))})")
        base_url = _text(config, "base_url", cls.base_url)
        if not base_url.startswith(("unix://", "tcp://", "http://", "https://", "ssh://")):
            raise _bad("base_url", f"expected unix://, tcp://, http(s):// or ssh:// URL, got {base_url!r}")
        image_map = config.get("image_map") or {}
        if not isinstance(image_map, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in image_map.items()
        ):
            raise _bad("image_map", "expected a mapping of image -> image (text)")
        pull = _text(config, "pull", cls.pull)
        if pull not in PULL_POLICIES:
            raise _bad("pull", f"expected one of {', '.join(PULL_POLICIES)}, got {pull!r}")
        try:
            pool = ipaddress.IPv4Network(_text(config, "address_pool", str(cls.address_pool)))
        except ValueError as exc:
            raise _bad("address_pool", f"not an IPv4 CIDR: {exc}") from None
        if not pool.is_private:
            raise _bad("address_pool", f"{pool} is not a private range")
        prefix = int(_number(config, "subnet_prefix", cls.subnet_prefix, minimum=16))
        if not pool.prefixlen <= prefix <= 29:
            raise _bad(
                "subnet_prefix", f"must lie between {pool.prefixlen} (the pool's) and 29, got {prefix}"
            )
        tls = {k: _text(config, k) for k in ("tls_ca", "tls_cert", "tls_key")}
        if bool(tls["tls_cert"]) != bool(tls["tls_key"]):
            raise _bad("tls_cert", "tls_cert and tls_key go together")
        return cls(
            base_url=base_url,
            tls_verify=bool(config.get("tls_verify", True)),
            image_map=dict(image_map),
            pull=pull,
            publish_host=_text(config, "publish_host", cls.publish_host),
            publish_bind=_text(config, "publish_bind", cls.publish_bind),
            address_pool=pool,
            subnet_prefix=prefix,
            api_timeout=_number(config, "api_timeout", cls.api_timeout, minimum=0.1),
            retries=int(_number(config, "retries", cls.retries, minimum=1)),
            retry_wait=_number(config, "retry_wait", cls.retry_wait),
            stop_timeout=int(_number(config, "stop_timeout", cls.stop_timeout)),
            teardown_timeout=_number(config, "teardown_timeout", cls.teardown_timeout, minimum=1),
            pids_limit=int(_number(config, "pids_limit", cls.pids_limit, minimum=16)),
            settle_seconds=_number(config, "settle_seconds", cls.settle_seconds),
            slots=int(_number(config, "slots", cls.slots)),
            workers=int(_number(config, "workers", cls.workers, minimum=1)),
            **tls,
        )
