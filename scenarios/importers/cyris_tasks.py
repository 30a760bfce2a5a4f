"""CyRIS guest `tasks` -> an Ansible playbook run after deploy, plus the variables it needs.

Expressible tasks become Ansible tasks with builtin modules (add_account, modify_account,
install_package, copy_content, execute_program, firewall_rules); passwords become per-scenario secret
variables passed to the playbook (never written into it). Attack, traffic and malware emulation have no
Federange equivalent and are reported as dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import yaml

from scenarios.importers.names import variable_name
from scenarios.importers.report import ImportReport
from scenarios.importers.shapes import at, mapping, sequence, text

_PACKAGE_MANAGERS = {
    "yum": "yum",
    "dnf": "dnf",
    "apt": "apt",
    "apt-get": "apt",
    "zypper": "zypper",
    "apk": "apk",
}
_NOT_EXPRESSIBLE = {
    "emulate_attack": "Federange does not emulate attacks; replay one from a provisioning playbook if needed",
    "emulate_traffic_capture_file": "Federange does not generate traffic captures; ship the pcap as a file",
    "emulate_malware": "Federange does not emulate malware processes",
}


@dataclass
class GuestPlaybook:
    """The generated playbook of one guest: file text, the variables it needs and their step vars."""

    text: str
    variables: list[dict[str, Any]] = field(default_factory=list)
    step_vars: dict[str, str] = field(default_factory=dict)


class _Tasks:
    def __init__(self, guest: str, *, path: str, report: ImportReport, playbook_file: str) -> None:
        self.guest = guest
        self.path = path
        self.report = report
        self.playbook_file = playbook_file
        self.tasks: list[dict[str, Any]] = []
        self.variables: list[dict[str, Any]] = []
        self.step_vars: dict[str, str] = {}

    def secret(self, purpose: str, value: str) -> str:
        """A secret variable holding `value`; returns the Ansible variable name the playbook uses."""
        name = variable_name(f"{self.guest}_{purpose}")
        if name not in self.step_vars:
            self.variables.append(
                {
                    "name": name,
                    "kind": "value",
                    "value": value,
                    "secret": True,
                    "description": f"CyRIS: {purpose}",
                }
            )
            self.step_vars[name] = f"{{{{ vars.{name} }}}}"
        return name

    def add_account(self, i: int, entry: dict[str, Any]) -> None:
        account = str(entry["account"])
        task: dict[str, Any] = {"name": account, "shell": "/bin/bash", "create_home": True}
        if "full_name" in entry:
            task["comment"] = str(entry["full_name"])
        if "passwd" in entry:
            var = self.secret(f"{account}_password", str(entry["passwd"]))
            task["password"] = f"{{{{ {var} | password_hash('sha512') }}}}"
        self.tasks.append({"name": f"add_account {account}", "ansible.builtin.user": task})

    def modify_account(self, i: int, entry: dict[str, Any]) -> None:
        account = str(entry["account"])
        if "new_account" in entry:
            new = str(entry["new_account"])
            self.tasks.append(
                {
                    "name": f"modify_account: rename {account} to {new}",
                    "ansible.builtin.command": {"argv": ["usermod", "-l", new, account]},
                    "register": "renamed",
                    "failed_when": "renamed.rc != 0 and 'does not exist' not in renamed.stderr",
                    "changed_when": "renamed.rc == 0",
                }
            )
            account = new
        if "new_passwd" in entry:
            var = self.secret(f"{account}_password", str(entry["new_passwd"]))
            self.tasks.append(
                {
                    "name": f"modify_account: password of {account}",
                    "ansible.builtin.user": {
                        "name": account,
                        "password": f"{{{{ {var} | password_hash('sha512') }}}}",
                    },
                }
            )

    def install_package(self, i: int, entry: dict[str, Any]) -> None:
        name = str(entry["name"])
        manager = _PACKAGE_MANAGERS.get(str(entry.get("package_manager", "")))
        if "version" in entry:
            name += f"={entry['version']}" if manager == "apt" else f"-{entry['version']}"
        task: dict[str, Any] = {"name": name, "state": "present"}
        if manager is not None:
            task["use"] = manager
        else:
            self.report.approximated(
                f"{self.path}.install_package[{i}].package_manager",
                str(entry.get("package_manager", "")),
                "unknown package manager: Ansible picks the host's own",
            )
        self.tasks.append({"name": f"install_package {name}", "ansible.builtin.package": task})

    def copy_content(self, i: int, entry: dict[str, Any]) -> None:
        src = PurePosixPath(str(entry["src"]))
        dst = str(entry["dst"]).rstrip("/") + "/"
        self.tasks.append(
            {
                "name": f"copy_content {src.name} to {dst}",
                "ansible.builtin.copy": {"src": f"files/{src.name}", "dest": dst, "mode": "preserve"},
            }
        )
        self.report.approximated(
            f"{self.path}.copy_content[{i}].src",
            str(src),
            f"the content is not part of the description: put it at {self._files_dir()}/{src.name} "
            "before deploying",
        )

    def execute_program(self, i: int, entry: dict[str, Any]) -> None:
        argv = [
            str(entry.get("interpreter", "sh")),
            str(entry["program"]),
            *str(entry.get("args", "")).split(),
        ]
        self.tasks.append(
            {"name": f"execute_program {entry['program']}", "ansible.builtin.command": {"argv": argv}}
        )
        if entry.get("execute_time") != "after_clone":
            self.report.approximated(
                f"{self.path}.execute_program[{i}]",
                str(entry["program"]),
                "CyRIS runs it on the base image before cloning; Federange runs it after deploy, "
                "in every instance",
            )

    def firewall_rules(self, i: int, entry: dict[str, Any]) -> None:
        rules = PurePosixPath(str(entry["rule"]))
        self.tasks.append(
            {
                "name": f"firewall_rules {rules.name}",
                "ansible.builtin.script": {"cmd": f"files/{rules.name}", "executable": "/bin/sh"},
            }
        )
        self.report.approximated(
            f"{self.path}.firewall_rules[{i}].rule",
            str(rules),
            f"the rules file is not part of the description: put it at {self._files_dir()}/{rules.name}; "
            "iptables needs NET_ADMIN, which ranges refuse to containers by default (run it on a VM range)",
        )

    def _files_dir(self) -> str:
        return str(PurePosixPath(self.playbook_file).parent / "files")


def guest_playbook(
    guest: str, *, hosts: list[str], tasks: Any, path: str, playbook_file: str, report: ImportReport
) -> GuestPlaybook | None:
    """The playbook for one guest's `tasks` (None when nothing in them is expressible)."""
    builder = _Tasks(guest, path=path, report=report, playbook_file=playbook_file)
    handlers = {
        "add_account": builder.add_account,
        "modify_account": builder.modify_account,
        "install_package": builder.install_package,
        "copy_content": builder.copy_content,
        "execute_program": builder.execute_program,
        "firewall_rules": builder.firewall_rules,
    }
    for task_path, task in sequence(tasks, path):
        for kind, entries in mapping(task, task_path).items():
            where = at(task_path, kind)
            if kind in _NOT_EXPRESSIBLE:
                report.dropped(where, f"{len(sequence(entries, where))} entries", _NOT_EXPRESSIBLE[kind])
                continue
            handler = handlers.get(kind)
            if handler is None:
                report.dropped(where, "", "unknown CyRIS task; not imported")
                continue
            builder.path = task_path
            for i, (entry_path, entry) in enumerate(sequence(entries, where)):
                fields = mapping(entry, entry_path)
                try:
                    handler(i, {k: text(v, at(entry_path, k)) for k, v in fields.items() if v is not None})
                except KeyError as exc:
                    report.dropped(entry_path, "", f"missing {exc}; task not imported")
    if not builder.tasks:
        return None
    play = {
        "name": f"Provision {guest} (CyRIS tasks)",
        "hosts": ",".join(hosts),
        "become": True,
        "gather_facts": True,
        "tasks": builder.tasks,
    }
    header = (
        f"# Generated by `federange scenario import cyris` from the tasks of guest '{guest}'.\n"
        "# Passwords come from the scenario's secret variables (step vars), never from this file.\n"
    )
    body = header + yaml.safe_dump([play], sort_keys=False, allow_unicode=True, width=110)
    return GuestPlaybook(text=body, variables=builder.variables, step_vars=builder.step_vars)
