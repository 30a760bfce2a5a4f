"""Scenario-built images: `build:` in the model, content tags (what changes them and what does not),
pinning a scenario to its tags, and the bundle's checks of build contexts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scenarios.bundle import load_bundle
from scenarios.errors import ScenarioError
from scenarios.images import BASE_ENV, DEFAULT_BASE, base_image, built_images, is_pinned, pin, pinned
from scenarios.loader import load_text
from scenarios.serialise import dump_yaml

SCENARIO = """\
apiVersion: federange/v1
kind: Scenario
metadata: {{name: built, version: 1.0.0, title: Built images}}
spec:
  segments: [{{name: lan}}]
  hosts:
    - name: web
      {web}
      resources: {{requests: {{cpu_millicores: 10, memory_mib: 16}}}}
      segments: [lan]
    - name: plain
      image: busybox:1.36
      resources: {{requests: {{cpu_millicores: 10, memory_mib: 16}}}}
      segments: [lan]
"""


def bundle_at(tmp_path: Path, web: str = "build: {context: images/web}") -> Path:
    context = tmp_path / "images" / "web"
    context.mkdir(parents=True, exist_ok=True)
    (context / "Containerfile").write_text("ARG BASE\nFROM ${BASE}\nCOPY run.sh /run.sh\n")
    (context / "run.sh").write_text("#!/bin/sh\necho hi\n")
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO.format(web=web))
    return path


def tag_of(path: Path, base: str = DEFAULT_BASE) -> str:
    (image,) = built_images(load_bundle(path), base=base)
    return image.tag


def test_a_tag_is_the_repository_and_the_content_digest(tmp_path: Path) -> None:
    path = bundle_at(tmp_path)
    (image,) = built_images(load_bundle(path), base=DEFAULT_BASE)
    repository, _, tag = image.tag.rpartition(":")
    assert repository == "federange/built/web"
    assert len(tag) == 20 and tag == image.digest[:20]
    assert image.args == {"BASE": DEFAULT_BASE}
    assert image.labels["eu.federange.content-digest"] == image.digest


def test_the_tag_follows_the_content_not_times_or_order(tmp_path: Path) -> None:
    path = bundle_at(tmp_path)
    first = tag_of(path)
    run = tmp_path / "images" / "web" / "run.sh"
    os.utime(run, (1, 1))
    assert tag_of(path) == first, "a touched file is the same content"
    (tmp_path / "images" / "web" / "empty").mkdir()
    assert tag_of(path) == first, "git keeps no empty directory: a clone must give the same tag"
    run.write_text("#!/bin/sh\necho bye\n")
    changed = tag_of(path)
    assert changed != first
    run.chmod(0o755)
    assert tag_of(path) != changed, "the executable bit is part of the content"
    assert tag_of(path, base="local/debian:trixie") != tag_of(path), "the base is a build argument"


def test_build_arguments_count_and_refuse_templates(tmp_path: Path) -> None:
    plain = tag_of(bundle_at(tmp_path))
    with_args = tag_of(bundle_at(tmp_path, "build: {context: images/web, args: {TOOLS: nmap}}"))
    assert with_args != plain
    with pytest.raises(ScenarioError, match="per-team template"):
        load_bundle(bundle_at(tmp_path, "build: {context: images/web, args: {PW: '{{ vars.x }}'}}"))


def test_image_beside_build_names_the_repository_only(tmp_path: Path) -> None:
    path = bundle_at(tmp_path, "build: {context: images/web}\n      image: registry.example:5000/acme/web")
    assert tag_of(path).startswith("registry.example:5000/acme/web:")
    with pytest.raises(ScenarioError, match="without a tag or digest"):
        load_bundle(bundle_at(tmp_path, "build: {context: images/web}\n      image: acme/web:latest"))
    with pytest.raises(ScenarioError, match="needs an 'image', a 'build', or both"):
        load_bundle(bundle_at(tmp_path, "description: nothing to run"))


def test_a_pinned_scenario_is_a_valid_document_that_keeps_its_build(tmp_path: Path) -> None:
    bundle = load_bundle(bundle_at(tmp_path))
    assert not is_pinned(bundle.scenario.host("web"))
    scenario = pinned(bundle, base=DEFAULT_BASE)
    web = scenario.host("web")
    assert is_pinned(web) and web.build == bundle.scenario.host("web").build
    assert web.image == tag_of(bundle.path)
    assert scenario.host("plain") == bundle.scenario.host("plain")
    assert load_text(dump_yaml(scenario)) == scenario
    with pytest.raises(ValueError, match="no built image given for host"):
        pin(bundle.scenario, [])


def test_missing_or_escaping_contexts_are_problems(tmp_path: Path) -> None:
    path = bundle_at(tmp_path, "build: {context: images/nowhere}")
    with pytest.raises(ScenarioError, match=r"spec.hosts\[0\].build.context: directory 'images/nowhere'"):
        load_bundle(path)
    path = bundle_at(tmp_path, "build: {context: ../outside}")
    with pytest.raises(ScenarioError, match="points outside the scenario directory"):
        load_bundle(path)
    path = bundle_at(tmp_path, "build: {context: images/web, containerfile: Dockerfile}")
    with pytest.raises(ScenarioError, match=r"build.containerfile: 'Dockerfile' not found"):
        load_bundle(path)


def test_the_base_is_one_setting() -> None:
    assert base_image({}) == DEFAULT_BASE == "local/debian:bookworm"
    assert base_image({BASE_ENV: " mirror.example/debian:12.8 "}) == "mirror.example/debian:12.8"
