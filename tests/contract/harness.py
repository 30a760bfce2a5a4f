"""What the contract suite needs from each connector's test environment.

Each `tests/contract/harness_<kind>.py` defines `harness()` (a context manager yielding a Harness) and
`MARKS` (pytest marks for its tests, e.g. `pytest.mark.docker`). The suite in test_contract.py runs every
behaviour over every harness found, so a new connector gets the whole contract by adding one file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from connectors.base import Connector, InstanceSpec
from scenarios.loader import load_text
from scenarios.model import Scenario


class Harness(Protocol):
    kind: str
    #: seconds a healthy instance of `scenario()` may take to become ready on this range
    ready_timeout: float

    def connector(self) -> Connector:
        """A connector for the range under test (built the way the orchestrator builds it)."""
        ...

    def scenario(self) -> Scenario:
        """A two-segment scenario whose hosts become ready on this range (see contract_scenario)."""
        ...

    def failing_scenario(self) -> Scenario:
        """A scenario one of whose hosts never becomes ready (crash loop, missing image)."""
        ...

    def arrange_partial_failure(self, instance: InstanceSpec) -> None:
        """Make the next deploy of `instance` fail after it created some of its objects."""
        ...

    def leftovers(self, instance_id: str) -> Sequence[str]:
        """Every object on the range that still belongs to the instance (empty after teardown)."""
        ...

    def labels(self, instance_id: str) -> Sequence[Mapping[str, str]]:
        """The labels of every object that belongs to the instance."""
        ...


def written_by_federange(obj: Mapping[str, Any]) -> bool:
    """Whether Federange wrote this Kubernetes object (a field manager of its own, `federange...`), as
    opposed to what Kubernetes makes in every namespace itself (the `kube-root-ca.crt` ConfigMap, the
    `default` ServiceAccount: no Federange labels) or what its controllers make (pods)."""
    fields = (obj.get("metadata") or {}).get("managedFields") or []
    return any(str(f.get("manager", "")).startswith("federange") for f in fields)


def contract_scenario(
    *, image: str, failing: bool = False, command: Sequence[str] = ("sleep", "3600"), name: str = "contract"
) -> Scenario:
    """attacker (entry, on 'red') and target (on 'red' and 'blue'), small requests."""
    cmd = ["sh", "-c", "exit 3"] if failing else list(command)
    text = f"""
apiVersion: federange/v1
kind: Scenario
metadata: {{name: {name}, version: 1.0.0, title: Contract scenario}}
spec:
  variables:
    - {{name: flag, kind: flag}}
  segments: [{{name: red}}, {{name: blue}}]
  hosts:
    - name: attacker
      image: {image}
      command: {list(command)!r}
      entry: true
      ports: [{{port: 2222}}]
      segments: [red]
      resources: {{requests: {{cpu_millicores: 50, memory_mib: 32}}}}
    - name: target
      image: {image}
      command: {cmd!r}
      env: {{FLAG: "{{{{ vars.flag }}}}"}}
      segments: [red, blue]
      resources: {{requests: {{cpu_millicores: 50, memory_mib: 32}}}}
"""
    return load_text(text, source="contract scenario")
