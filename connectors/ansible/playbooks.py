"""One ansible-runner run of one playbook: a private run directory, events as log lines, the outcome.

Shared by post-deploy provisioning (provisioner.py) and the VM-range connector (vm.py). Contracts:
- the run happens in a fresh private directory that is deleted afterwards (inventories and files may
  carry secrets); files given are written there with mode 0600 and the inventory and playbook vars see
  their folder as `federange_files`; hosts run with the `local` connection use this Python for modules
  unless the inventory names another interpreter;
- `ansible-playbook` is the one next to this Python (the venv's bin goes first on PATH: without it
  ansible-runner fails with rc 127);
- every event of interest becomes one line for `on_event` (task start, ok/changed/failed/skipped/
  unreachable per host, the recap), with the values in `redact` replaced by `***`;
- the outcome names the failing task, host and message, and carries what the playbook published with
  `ansible.builtin.set_stats` (`stats`), which is how operator playbooks answer the VM connector;
- a run is bounded by `timeout` seconds; a run that outlasts it is stopped and reported as timed out;
- without ansible-runner installed (the `ansible` extra), a run raises ConnectorError saying so: the
  module itself imports without it, so an orchestrator without the extra still starts and serves
  simulated ranges.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from connectors.base import ConnectorError

logger = logging.getLogger(__name__)

EventSink = Callable[[str], None]
FILES_VAR = "federange_files"


@dataclass(frozen=True, kw_only=True)
class TaskFailure:
    task: str
    host: str
    message: str
    unreachable: bool = False

    def describe(self) -> str:
        what = "unreachable" if self.unreachable else "failed"
        return f"task '{self.task}' {what} on host '{self.host}': {self.message}"


@dataclass(frozen=True, kw_only=True)
class PlaybookRun:
    playbook: str
    status: str  # successful | failed | timeout | canceled
    rc: int
    failures: tuple[TaskFailure, ...] = ()
    stats: Mapping[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "successful" and self.rc == 0

    @property
    def unreachable(self) -> bool:
        return any(f.unreachable for f in self.failures)

    def reason(self) -> str:
        """Why the run failed, for a human: the first failing task and host, or the runner's status."""
        if self.ok:
            return ""
        if self.status == "timeout":
            return f"playbook {self.playbook} timed out after {self.seconds:.0f}s"
        if self.failures:
            first = self.failures[0].describe()
            more = f" (and {len(self.failures) - 1} more)" if len(self.failures) > 1 else ""
            return f"playbook {self.playbook}: {first}{more}"
        return f"playbook {self.playbook} ended {self.status} (rc {self.rc})"


def _redactor(secrets: Sequence[str]) -> Callable[[str], str]:
    hidden = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def redact(text: str) -> str:
        for secret in hidden:
            text = text.replace(secret, "***")
        return text

    return redact


def _text(value: Any) -> str:
    return (value if isinstance(value, str) else json.dumps(value)).strip()


def _message(result: Mapping[str, Any]) -> str:
    """The module's message, with the command's error output when it has one (raw/command/shell)."""
    parts = [_text(result["msg"])] if result.get("msg") else []
    for key in ("stderr", "module_stderr", "stdout", "module_stdout"):
        if result.get(key):
            parts.append(_text(result[key])[-400:])
            break
    if not parts:
        rc = result.get("rc")
        parts.append(f"exit status {rc}" if rc is not None else "no message")
    return ": ".join(parts)[-600:]


class _Events:
    """Turns runner events into lines and collects failures and set_stats data."""

    def __init__(self, on_event: EventSink | None, redact: Callable[[str], str]) -> None:
        self.on_event = on_event
        self.redact = redact
        self.failures: list[TaskFailure] = []
        self.stats: dict[str, Any] = {}

    def emit(self, line: str) -> None:
        if self.on_event is not None:
            self.on_event(self.redact(line))

    def __call__(self, event: Mapping[str, Any]) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        host = str(data.get("host") or data.get("remote_addr") or "")
        task = str(data.get("task") or "").strip()
        result = data.get("res") or {}
        if kind == "playbook_on_play_start":
            self.emit(f"PLAY [{data.get('play', '')}]")
        elif kind == "playbook_on_task_start":
            self.emit(f"TASK [{task}]")
        elif kind == "runner_on_ok":
            self.emit(f"{'changed' if result.get('changed') else 'ok'}: [{host}] {task}")
        elif kind == "runner_on_skipped":
            self.emit(f"skipping: [{host}] {task}")
        elif kind in ("runner_on_failed", "runner_on_unreachable"):
            unreachable = kind == "runner_on_unreachable"
            message = self.redact(_message(result))
            if data.get("ignore_errors"):
                self.emit(f"failed (ignored): [{host}] {task}: {message}")
            else:
                self.failures.append(
                    TaskFailure(task=task, host=host, message=message, unreachable=unreachable)
                )
                self.emit(f"{'unreachable' if unreachable else 'failed'}: [{host}] {task}: {message}")
        elif kind == "playbook_on_stats":
            self.stats = dict(data.get("artifact_data") or {})
            for name in sorted(set(data.get("processed") or {})):
                counts = " ".join(
                    f"{key}={(data.get(key) or {}).get(name, 0)}"
                    for key in ("ok", "changed", "failures", "unreachable", "skipped")
                )
                self.emit(f"RECAP [{name}] {counts}")
        return True


class _UnsafeDumper(yaml.SafeDumper):
    """Dumps every string tagged `!unsafe`, so Ansible never renders text that came from outside (a
    scenario's `{{ vars.flag }}` or a web page's own Jinja) as one of its templates."""


def _unsafe_string(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar("!unsafe", value)


_UnsafeDumper.add_representer(str, _unsafe_string)


def runner_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for ansible-playbook: this interpreter's bin first on PATH, quiet, no host key prompts."""
    binaries = str(Path(sys.executable).parent)
    env = {
        "PATH": f"{binaries}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
    }
    env.update(extra or {})
    return env


def run_playbook(
    playbook: Path,
    *,
    inventory: Mapping[str, Any],
    extra_vars: Mapping[str, Any] | None = None,
    files: Mapping[str, str] | None = None,
    limit: Sequence[str] = (),
    on_event: EventSink | None = None,
    timeout: float = 600.0,
    redact: Sequence[str] = (),
    environment: Mapping[str, str] | None = None,
    data_vars: Mapping[str, Any] | None = None,
) -> PlaybookRun:
    """Run `playbook` (its folder is the project directory) against `inventory`; never raises for a
    failing playbook: the returned PlaybookRun says what failed.

    `extra_vars` are ordinary extra vars (Ansible renders templates in them); `data_vars` are data
    that must arrive verbatim, so every string in them is marked unsafe (never templated)."""
    try:
        # An optional dependency (see the module docstring), so imported when a run needs it.
        import ansible_runner  # noqa: PLC0415 - the ansible extra is optional
    except ImportError as exc:
        raise ConnectorError(
            f"ansible-runner is not installed here ({exc}): install federange[ansible]"
        ) from exc
    events = _Events(on_event, _redactor(redact))
    started = time.monotonic()
    deadline = started + timeout
    with tempfile.TemporaryDirectory(prefix="federange-ansible-") as private:
        root = Path(private)
        files_dir = root / "files"
        files_dir.mkdir(mode=0o700)
        for name, content in (files or {}).items():
            path = files_dir / Path(name).name
            path.write_text(content, encoding="utf-8")
            os.chmod(path, 0o600)
        inventory_dir = root / "inventory"
        inventory_dir.mkdir()
        document = json.loads(json.dumps(inventory))  # a plain copy (mappings may be read-only)
        document.setdefault("all", {}).setdefault("vars", {})[FILES_VAR] = str(files_dir)
        for host_vars in (document["all"].get("hosts") or {}).values():
            if isinstance(host_vars, dict) and host_vars.get("ansible_connection") == "local":
                host_vars.setdefault("ansible_python_interpreter", sys.executable)
        (inventory_dir / "hosts.yml").write_text(yaml.safe_dump(document), encoding="utf-8")
        variables = {FILES_VAR: str(files_dir), **dict(extra_vars or {})}
        cmdline = None
        if data_vars:
            data_file = root / "data-vars.yml"
            data_file.write_text(yaml.dump(dict(data_vars), Dumper=_UnsafeDumper), encoding="utf-8")
            os.chmod(data_file, 0o600)
            cmdline = f"-e @{data_file}"
        runner = ansible_runner.run(
            private_data_dir=str(root),
            project_dir=str(playbook.parent.resolve()),
            playbook=str(playbook.resolve()),
            inventory=str(inventory_dir / "hosts.yml"),
            extravars=variables,
            cmdline=cmdline,
            limit=",".join(limit) or None,
            envvars=runner_environment(environment),
            event_handler=events,
            cancel_callback=lambda: time.monotonic() > deadline,
            quiet=True,
            timeout=max(1, int(timeout)),
            suppress_env_files=True,
        )
        status = str(runner.status)
        rc = int(runner.rc if runner.rc is not None else -1)
        if status == "canceled" and time.monotonic() > deadline:
            status = "timeout"
    seconds = time.monotonic() - started
    logger.info("playbook %s: %s (rc %s) in %.1fs", playbook.name, status, rc, seconds)
    return PlaybookRun(
        playbook=playbook.name,
        status=status,
        rc=rc,
        failures=tuple(events.failures),
        stats=events.stats,
        seconds=seconds,
    )
