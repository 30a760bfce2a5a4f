"""Importers: KYPO/CyberRangeCZ sandbox definitions, CyRIS range descriptions and kCTF challenges ->
Federange scenarios.

Every importer returns an `Imported` (a validated scenario, generated files such as provisioning
playbooks, source files kept byte for byte, and an `ImportReport` listing every element that was
dropped, approximated or is unsupported, by its path in the source), or raises `ImportRefused` when the
input is not what the importer reads (a Compose file, a Kubernetes manifest, a training definition...),
naming what is missing, or when a part of it has a shape the format does not allow, naming that part
(`shapes` reads every part). Nothing else escapes an importer.
"""
