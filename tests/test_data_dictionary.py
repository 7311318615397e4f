"""docs/data-dictionary.md is what `cofre docs` writes from the declarations, never stale."""

from __future__ import annotations

import dataclasses

from typer.testing import CliRunner

from flows.cli import app
from tasks import data_dictionary
from validation.catalog_gold import GOLD_DECLARED


def test_the_committed_dictionary_is_what_cofre_docs_writes():
    committed = data_dictionary.DICTIONARY.read_text(encoding="utf-8")
    stale = data_dictionary.stale_sections(committed, data_dictionary.render())
    assert stale == [], f"docs/data-dictionary.md is stale in {stale}: run `cofre docs`"


def test_every_declared_table_and_column_is_in_the_dictionary():
    text = data_dictionary.render()
    for name, table in GOLD_DECLARED.items():
        assert f"### {name}\n" in text
        for column in table.columns:
            assert f"| {column.name} | {column.type} |" in text, (name, column.name)
    assert "{{" not in text  # every section marker filled


def _changed_declaration(monkeypatch):
    """dim_seller's first column described differently: the dictionary must notice."""
    table = GOLD_DECLARED["dim_seller"]
    first = dataclasses.replace(table.columns[0], description="a new meaning")
    changed = dataclasses.replace(table, columns=(first, *table.columns[1:]))
    monkeypatch.setitem(GOLD_DECLARED, "dim_seller", changed)


def test_a_changed_declaration_makes_the_dictionary_stale_naming_its_table(monkeypatch):
    committed = data_dictionary.render()
    _changed_declaration(monkeypatch)
    assert data_dictionary.stale_sections(committed, data_dictionary.render()) == ["dim_seller"]


def test_cofre_docs_check_exits_1_naming_the_stale_section_and_cofre_docs_fixes_it(
    monkeypatch, tmp_path
):
    target = tmp_path / "data-dictionary.md"
    target.write_text(data_dictionary.render(), encoding="utf-8")
    monkeypatch.setattr(data_dictionary, "DICTIONARY", target)
    runner = CliRunner()
    assert runner.invoke(app, ["docs", "--check"]).exit_code == 0

    _changed_declaration(monkeypatch)
    checked = runner.invoke(app, ["docs", "--check"])
    assert checked.exit_code == 1
    assert "stale in: dim_seller." in checked.output
    assert "a new meaning" not in target.read_text(encoding="utf-8")  # --check writes nothing

    assert runner.invoke(app, ["docs"]).exit_code == 0
    assert "a new meaning" in target.read_text(encoding="utf-8")
    assert runner.invoke(app, ["docs", "--check"]).exit_code == 0
