"""The Docker range's connector config schema (`DockerConfig`): parsed once, every bad field named by path.

    key              meaning                                                      default
    base_url         engine address: unix:///var/run/docker.sock, tcp://h:2376     unix:///var/run/docker.sock
    tls_ca/tls_cert/tls_key  PEM text for a TLS-protected tcp:// engine (key: secret) none
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
    stop_timeout     kept for old configs; each host's termination_grace_seconds decides       5
    teardown_timeout seconds teardown waits for every object to be gone            60
    pids_limit       processes per container                                      1024
    settle_seconds   a host without readiness probe is ready after running this   1
    slots            instance slots the range offers                              4 x engine CPUs
    workers          parallel deploys (connectors.fanout.deploy_many)             4

Our own address pool matters: Docker's default pools hold about 30 networks, far fewer than a range of
a few dozen team instances with two or three segments each needs.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from connectors.base import ConfigProblem
from connectors.schema import ConfigModel, Secret, parse

DEFAULT_POOL = ipaddress.IPv4Network("10.213.0.0/16")
URL_SCHEMES = ("unix://", "tcp://", "http://", "https://", "ssh://")


class DockerConfig(ConfigModel):
    base_url: str = "unix:///var/run/docker.sock"
    tls_ca: str = ""
    tls_cert: str = ""
    tls_key: Annotated[str, Secret()] = ""
    tls_verify: bool = True
    image_map: dict[str, Annotated[str, Field(min_length=1)]] = Field(default_factory=dict)
    pull: Literal["never", "if-missing"] = "if-missing"
    publish_host: str = "127.0.0.1"
    publish_bind: str = "0.0.0.0"  # noqa: S104 - entry points are meant to be reached by the teams
    address_pool: ipaddress.IPv4Network = DEFAULT_POOL
    subnet_prefix: int = Field(default=26, ge=16, le=29)
    api_timeout: float = Field(default=30.0, ge=0.1)
    retries: int = Field(default=4, ge=1)
    retry_wait: float = Field(default=0.2, ge=0)
    stop_timeout: int = Field(default=5, ge=0)
    teardown_timeout: float = Field(default=60.0, ge=1)
    pids_limit: int = Field(default=1024, ge=16)
    settle_seconds: float = Field(default=1.0, ge=0)
    slots: int = Field(default=0, ge=0)  # 0: 4 x the engine's CPUs
    workers: int = Field(default=4, ge=1)

    @field_validator("base_url")
    @classmethod
    def _engine_url(cls, value: str) -> str:
        if not value.startswith(URL_SCHEMES):
            raise ValueError(f"expected a unix://, tcp://, http(s):// or ssh:// URL, got {value!r}")
        return value

    @field_validator("address_pool")
    @classmethod
    def _private(cls, pool: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
        if not pool.is_private:
            raise ValueError(f"{pool} is not a private range")
        return pool

    def problems(self) -> list[ConfigProblem]:
        found = []
        if not self.address_pool.prefixlen <= self.subnet_prefix:
            found.append(
                ConfigProblem(
                    path=("subnet_prefix",),
                    reason=f"must lie between {self.address_pool.prefixlen} (the pool's) and 29",
                )
            )
        if bool(self.tls_cert) != bool(self.tls_key):
            found.append(ConfigProblem(path=("tls_cert",), reason="tls_cert and tls_key go together"))
        return found

    @property
    def uses_tls(self) -> bool:
        return bool(self.tls_cert or self.tls_ca)

    def image_for(self, image: str) -> str:
        """The image the range runs for a scenario's image reference."""
        return self.image_map.get(image, image)

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any] | None) -> DockerConfig:
        """Parse a range's connector config; raises ConfigInvalid naming every bad field."""
        return parse(cls, config, kind="docker")
