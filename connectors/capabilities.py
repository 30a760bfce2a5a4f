"""What some connector kinds offer beyond the Connector Protocol, reached by name or by Protocol.

- `Renderer` (entry-point group `federange.renderers`, `connectors.registry.load_renderer(kind)`): the
  objects a kind would create for an instance, computed without a range (`federange scenario render`
  prints the Kubernetes manifests).
- `ImageSupply` (a connector object may implement it): make a scenario's image runnable on the range
  before instances need it (`federange demo` on a Docker engine without a registry).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from connectors.base import InstanceSpec


class Renderer(Protocol):
    def __call__(self, instance: InstanceSpec, /, *, registry: str = "") -> list[dict[str, Any]]:
        """The objects (documents) the connector would create for `instance`, in creation order, with
        the images the scenario builds pulled from `registry`; raises ConnectorRefusal for what the range
        would refuse."""
        ...


@dataclass(frozen=True, kw_only=True)
class SuppliedImage:
    """How the range runs an image: `image_map` to put in the range's config, and how it got there."""

    image_map: Mapping[str, str] = field(default_factory=dict)
    how: str = ""


@runtime_checkable
class ImageSupply(Protocol):
    def supply_image(self, image: str, *, local_tag: str) -> SuppliedImage:
        """Make `image` runnable on the range: present already, pulled, or (no registry) built locally
        as `local_tag`; raises ConnectorError with the reason when none of these works."""
        ...
