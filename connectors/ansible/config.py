"""The Ansible VM-range connector's config schema (`AnsibleConfig`); imports no ansible-runner.

    key             meaning                                                       default
    playbook_dir    the folder holding deploy/status/teardown/list/probe.yml      (required)
    inventory       a YAML inventory as a mapping: groups (`all`, ...) with        localhost, local
                    `hosts`, `vars` and `children`                                connection
    files           file name -> content (SSH private keys, certificates): every   {}
                    content is secret; playbooks find them in `{{ federange_files }}`
    extra_vars      extra vars of every run (free-form)                            {}
    timeout         seconds a deploy or teardown run may take                      900
    status_timeout  seconds a status, list or probe run may take                   120
    retries         runs of a playbook whose hosts were unreachable               2
    poll_interval   seconds between status runs while waiting for readiness      2

Secrets: every `files` content; in the inventory, the connection passwords Ansible reads
(`ansible_password`, `ansible_ssh_pass`, `ansible_become_pass`, `ansible_become_password`) and every other
variable whose name looks like a credential, in any group's or host's vars at any depth of `children`;
in `extra_vars`, every key that looks like a credential, at any depth (connectors.schema.SecretKeys).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

from pydantic import ConfigDict, Field, field_validator

from connectors.schema import ConfigModel, Secret, SecretKeys

PLAYBOOKS = ("deploy.yml", "status.yml", "teardown.yml", "list.yml", "probe.yml")

Password = Annotated[str, Secret()]
#: A connection password Ansible reads (null: none), write-only as a whole in the JSON Schema.
ConnectionPassword = Annotated[str | None, Secret()]


class HostVars(ConfigModel):
    """The variables of a host or a group: free-form as in any Ansible inventory; the connection
    variables Ansible reads are type-checked, and every credential-like variable is secret."""

    model_config = ConfigDict(extra="allow", frozen=True)
    secret_extras = SecretKeys()

    ansible_host: str | None = None
    ansible_port: int | None = Field(default=None, ge=1, le=65535)
    ansible_user: str | None = None
    ansible_connection: str | None = None
    ansible_python_interpreter: str | None = None
    ansible_ssh_private_key_file: str | None = None
    ansible_password: ConnectionPassword = None
    ansible_ssh_pass: ConnectionPassword = None
    ansible_become_pass: ConnectionPassword = None
    ansible_become_password: ConnectionPassword = None


class Group(ConfigModel):
    """One inventory group: its hosts (name -> vars), its vars and its child groups."""

    hosts: dict[str, HostVars | None] = Field(default_factory=dict)
    vars: HostVars | None = None
    children: dict[str, Group | None] = Field(default_factory=dict)


def _local_inventory() -> dict[str, Group]:
    local = HostVars(ansible_connection="local", ansible_python_interpreter=sys.executable)
    return {"all": Group(hosts={"localhost": local})}


class AnsibleConfig(ConfigModel):
    playbook_dir: Path
    inventory: dict[str, Group] = Field(default_factory=_local_inventory)
    files: dict[str, Password] = Field(default_factory=dict)
    extra_vars: Annotated[dict[str, Any], SecretKeys()] = Field(default_factory=dict)
    timeout: float = Field(default=900.0, ge=1)
    status_timeout: float = Field(default=120.0, ge=1)
    retries: int = Field(default=2, ge=1)
    poll_interval: float = Field(default=2.0, ge=0)

    @field_validator("playbook_dir", mode="before")
    @classmethod
    def _named(cls, folder: Any) -> Any:
        if isinstance(folder, str) and not folder:
            raise ValueError("required: the folder holding " + ", ".join(PLAYBOOKS))
        return folder

    def inventory_document(self) -> dict[str, Any]:
        """The inventory as ansible-runner takes it (a plain YAML mapping, only the keys given)."""
        return {
            name: group.model_dump(mode="json", exclude_unset=True) for name, group in self.inventory.items()
        }
