"""`scenarios.loader.yaml_data`: libyaml's parser where PyYAML has it, the same data as PyYAML's own."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scenarios import library
from scenarios.errors import ScenarioError
from scenarios.loader import parse_document, yaml_data

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
DOCUMENTS = sorted(
    [library.scenario_dir(name) / library.SCENARIO_FILE for name in library.names()]
    + [p for p in (FIXTURES / "corpus").rglob("*") if p.suffix in (".yml", ".yaml")]
)


def test_the_c_parser_is_used_where_pyyaml_has_it() -> None:
    if not yaml.__with_libyaml__:
        pytest.skip("this PyYAML was built without libyaml")
    from scenarios import loader

    assert loader._SAFE_LOADER is yaml.CSafeLoader


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_it_reads_the_same_data_as_pyyaml_safe_load(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert yaml_data(text) == yaml.safe_load(text)


def test_a_syntax_error_still_names_its_line_and_column() -> None:
    text = "apiVersion: federange/v1\nkind: Scenario\nmetadata: {name: [unclosed\n"
    with pytest.raises(ScenarioError) as caught:
        parse_document(text)
    assert "not valid YAML: line 4, column 1" in str(caught.value)


def test_unsafe_tags_are_refused() -> None:
    with pytest.raises(yaml.YAMLError):
        yaml_data("!!python/object/apply:os.system ['true']")
