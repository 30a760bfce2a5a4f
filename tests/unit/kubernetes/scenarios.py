"""Realistic scenarios for the Kubernetes rendering tests, and instances of them."""

from __future__ import annotations

from connectors.base import InstanceSpec, SecurityAllowance
from scenarios.loader import load_text
from scenarios.materialise import materialise
from scenarios.model import Scenario
from scenarios.serialise import dump_yaml
from tests.contract.harness import contract_scenario

SEED = b"kubernetes-rendering-tests"

WEB_BREACH = """
apiVersion: federange/v1
kind: Scenario
metadata: {name: web-breach, version: 2.1.0, title: Breach of a three-tier web shop}
spec:
  variables:
    - {name: flag, kind: flag}
    - {name: db_password, kind: password, length: 20}
    - {name: admin_token, kind: token, length: 32}
    - {name: theme, kind: choice, choices: [dark, light]}
    - {name: greeting, kind: value, value: "price: $(5) or $HOME"}
  segments: [{name: dmz}, {name: internal}, {name: mgmt}]
  hosts:
    - name: attacker
      image: registry.example/kali:2024.4
      entry: true
      ports: [{port: 22, name: ssh}]
      segments: [dmz]
      resources:
        requests: {cpu_millicores: 200, memory_mib: 256}
        limits: {cpu_millicores: 500, memory_mib: 512}
      egress: {}
    - name: web
      image: registry.example/shop-web:1.4
      ports: [{port: 8080}]
      segments: [dmz]
      env: {DB_PASSWORD: "{{ vars.db_password }}", THEME: "{{ vars.theme }}", GREETING: "{{ vars.greeting }}"}
      files:
        - {path: /srv/www/flag.txt, content: "{{ vars.flag }}", mode: 0400}
        - {path: /etc/shop/site.conf, content: "theme = {{ vars.theme }}\\n"}
        - {path: /etc/shop/tls.key, content: "-----BEGIN KEY-----", secret: true, mode: 0600}
      readiness: {http: {path: /healthz, port: 8080}}
      resources: {requests: {cpu_millicores: 100, memory_mib: 128}}
      security: {run_as_root: false}
    - name: api
      image: registry.example/shop-api:1.4
      command: [/app/api]
      args: ["--token", "{{ vars.admin_token }}", "--theme={{ vars.theme }}", "--motd={{ vars.greeting }}"]
      ports: [{port: 9000}]
      segments: [internal]
      readiness: {tcp_port: 9000}
      egress: {cidrs: [198.51.100.0/24], ports: [{port: 443}]}
      resources:
        requests: {cpu_millicores: 100, memory_mib: 128}
        limits: {cpu_millicores: 250, memory_mib: 256}
    - name: db
      image: registry.example/postgres:16
      ports: [{port: 5432}]
      segments: [internal]
      env: {POSTGRES_PASSWORD: "{{ vars.db_password }}"}
      volumes: [{name: data, mount_path: /var/lib/postgresql/data, size_mib: 512}]
      readiness: {exec: [pg_isready]}
      resources: {requests: {cpu_millicores: 250, memory_mib: 512}}
    - name: jump
      image: registry.example/jump:1
      segments: [mgmt, internal]
      resources: {requests: {cpu_millicores: 50, memory_mib: 64}}
    - name: monitor
      image: registry.example/monitor:3
      ports: [{port: 9100}, {port: 161, protocol: UDP}]
      segments: [mgmt]
      resources: {requests: {cpu_millicores: 50, memory_mib: 64}}
  flows:
    - {from: {segment: dmz, hosts: [web]}, to: {segment: internal, hosts: [api]}, ports: [{port: 9000}]}
    - {from: {segment: mgmt}, to: {segment: dmz}}
    - from: {segment: internal, hosts: [db]}
      to: {segment: mgmt, hosts: [monitor]}
      ports: [{port: 161, protocol: UDP}]
"""

ICS_LAB = """
apiVersion: federange/v1
kind: Scenario
metadata: {name: ics-lab, version: 1.0.0, title: Water treatment plant}
spec:
  variables:
    - {name: flag, kind: flag, prefix: ICS}
  segments: [{name: it}, {name: ot}]
  hosts:
    - name: hmi
      image: registry.example/hmi:5
      entry: true
      ports: [{port: 8443}]
      segments: [it, ot]
      resources: {requests: {cpu_millicores: 100, memory_mib: 128}}
      security: {run_as_root: false, capabilities: [NET_BIND_SERVICE]}
    - name: plc
      image: registry.example/openplc:3
      ports: [{port: 502}, {port: 47808, protocol: UDP}]
      segments: [ot]
      files: [{path: /plc/flag, content: "{{ vars.flag }}"}]
      resources: {requests: {cpu_millicores: 100, memory_mib: 64}}
      security: {run_as_root: false}
    - name: historian
      image: registry.example/influx:2
      ports: [{port: 8086}]
      segments: [it]
      resources: {requests: {cpu_millicores: 200, memory_mib: 256}}
      security: {run_as_root: false}
  flows:
    - {from: {segment: it, hosts: [historian]}, to: {segment: ot, hosts: [plc]}, ports: [{port: 502}]}
"""


def web_breach() -> Scenario:
    return load_text(WEB_BREACH, source="web-breach")


def ics_lab() -> Scenario:
    return load_text(ICS_LAB, source="ics-lab")


def contract() -> Scenario:
    return contract_scenario(image="registry.example/tools:1")


SCENARIOS = {"web-breach": web_breach, "ics-lab": ics_lab, "contract": contract}


def allowance_for(scenario: Scenario) -> SecurityAllowance:
    """A range policy that grants exactly the dangerous things the scenario asks for."""
    hosts = scenario.spec.hosts
    return SecurityAllowance(
        privileged=any(h.security.privileged for h in hosts),
        host_namespaces=any(h.security.host_network or h.security.host_pid for h in hosts),
        host_path=any(v.host_path is not None for h in hosts for v in h.volumes),
        added_capabilities=frozenset(c for h in hosts for c in h.security.capabilities),
    )


def instance(
    scenario: Scenario,
    *,
    instance_id: str = "i-team-a",
    team: str = "Team A",
    allowance: SecurityAllowance | None = None,
) -> InstanceSpec:
    return InstanceSpec(
        instance_id=instance_id,
        exercise="Locked Shields 2027",
        team=team,
        scenario_document=dump_yaml(scenario),
        values=materialise(scenario, seed=SEED, instance_id=instance_id),
        allowance=allowance if allowance is not None else allowance_for(scenario),
    )
