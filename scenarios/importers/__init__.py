"""Importers: KYPO/CyberRangeCZ topologies and CyRIS range descriptions -> Federange scenarios.

Every importer returns an `Imported` (a validated scenario, generated files such as provisioning
playbooks, and an `ImportReport` listing every element that was dropped or approximated, by its path in
the source), or raises `ImportRefused` when the input is not what the importer reads (a Compose file, a
Kubernetes manifest, a training definition...), naming what is missing.
"""
