"""Every silver dataset and gold table is declared once (validation/catalog_{silver,gold}.py),
and what used to be a second hand-kept list is now built from, or checked against, it."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from validation import catalog
from validation.catalog_gold import GOLD_DECLARED
from validation.catalog_silver import SILVER_DECLARED


def _model_reads(table: str) -> set[str]:
    """The tables a gold model's SQL reads (its own CTEs left out)."""
    from spark.models import MODELS

    tree = sqlglot.parse_one(MODELS[table](), read="spark")
    ctes = {cte.alias for cte in tree.find_all(exp.CTE)}
    return {t.name for t in tree.find_all(exp.Table)} - ctes


@pytest.mark.parametrize("table", catalog.GOLD_TABLES)
def test_a_gold_tables_declared_inputs_are_what_its_model_reads(table):
    reads = _model_reads(table)
    if "category_labels" in reads:  # computed in Python from products (spark/labels.py)
        reads = (reads - {"category_labels"}) | {"products"}
    if "products" in reads:  # the products view joins the translation when silver lacks it
        reads.add("category_translation")
    assert set(GOLD_DECLARED[table].reads) == reads


def test_gold_tables_read_only_silver_and_earlier_gold():
    seen: set[str] = set()
    for name, table in GOLD_DECLARED.items():
        for source in table.reads:
            assert source in seen or source in catalog.GOLD_INPUTS, (name, source)
        seen.add(name)
    assert set(catalog.GOLD_INPUTS) >= {
        s for t in GOLD_DECLARED.values() for s in t.reads if s not in GOLD_DECLARED
    }


@pytest.mark.parametrize("table", catalog.GOLD_TABLES)
def test_a_gold_tables_keys_sort_and_references_name_declared_columns(table):
    declared = GOLD_DECLARED[table]
    names = [c.name for c in declared.columns]
    assert len(set(names)) == len(names)
    assert bool(declared.primary_key) != bool(declared.unique)  # one identity, never both
    assert set(declared.primary_key) | set(declared.unique) | set(declared.sort) <= set(names)
    for column in declared.primary_key:  # a primary key is never null
        assert not catalog.gold_columns(table)[column][1], column
    for column, dimension in declared.references.items():
        assert GOLD_DECLARED[dimension].primary_key == (column,), (column, dimension)
    assert declared.grain and all(c.description for c in declared.columns)


@pytest.mark.parametrize("table", catalog.GOLD_TABLES)
def test_the_gold_pandera_schema_is_built_from_the_declaration(table):
    from validation.gold_schemas import ALSO_UNIQUE, CHECKS, GOLD_SCHEMAS

    schema = GOLD_SCHEMAS[table]
    declared = GOLD_DECLARED[table]
    assert set(CHECKS.get(table, {})) | set(ALSO_UNIQUE.get(table, ())) <= set(schema.columns)
    assert schema.strict is True and schema.ordered is True
    key = declared.primary_key or declared.unique
    if len(declared.primary_key) == 1:
        assert schema.columns[key[0]].unique and schema.unique is None
    else:
        assert schema.unique == list(key)


def test_the_warehouse_keys_are_the_declared_keys():
    from tasks.warehouse.schema import FOREIGN_KEYS, TABLES

    for name, declared in GOLD_DECLARED.items():
        assert TABLES[name][1:] == (declared.primary_key, declared.unique)
        for column, dimension in declared.references.items():
            assert FOREIGN_KEYS[(name, column)] == f"{dimension}.{column}"
    assert len(FOREIGN_KEYS) == sum(len(t.references) for t in GOLD_DECLARED.values())


def test_every_silver_dataset_is_declared_once():
    assert tuple(SILVER_DECLARED) == catalog.SILVER_DATASETS
    for name, dataset in SILVER_DECLARED.items():
        names = [c.name for c in dataset.columns]
        assert len(set(names)) == len(names) and set(dataset.key) <= set(names), name
        assert set(dataset.reads) <= set(SILVER_DECLARED) - {name}
        assert dataset.grain and all(c.description for c in dataset.columns), name


@pytest.mark.parametrize("dataset", catalog.OLIST_DATASETS)
def test_an_olist_datasets_columns_are_its_files_and_the_parser_casts_them(dataset):
    from tasks.sources.olist.contract import COLUMN_RENAMES, OLIST_FILES, source_file
    from tasks.sources.olist.parse import TYPES

    header = [COLUMN_RENAMES.get(c, c) for c in OLIST_FILES[source_file(dataset)]]
    assert [c.name for c in SILVER_DECLARED[dataset].columns] == header
    assert TYPES[dataset] == {c.name: c.type for c in SILVER_DECLARED[dataset].columns}


@pytest.mark.parametrize("dataset", [*catalog.OLIST_DATASETS, *catalog.SOURCE_DATASETS])
def test_the_silver_pandera_schema_is_built_from_the_declaration(dataset):
    from validation.schemas import CHECKS, DTYPES, OLIST_SCHEMAS, SOURCE_SCHEMAS

    schema = {**OLIST_SCHEMAS, **SOURCE_SCHEMAS}[dataset]
    declared = SILVER_DECLARED[dataset]
    assert [
        (name, column.dtype.type, column.nullable) for name, column in schema.columns.items()
    ] == [(c.name, DTYPES[c.type], c.nullable) for c in declared.columns]
    assert set(CHECKS.get(dataset, {})) <= set(schema.columns)
    if len(declared.key) == 1:
        assert schema.columns[declared.key[0]].unique
    else:
        assert schema.unique == list(declared.key)


def test_the_sources_parsers_produce_the_declared_dtypes():
    from tasks.sources.ipca import parse as ipca
    from tasks.sources.open_meteo import parse as open_meteo
    from tasks.sources.openweather import parse as openweather
    from validation.schemas import DTYPES

    for dataset, parsed in (
        ("ipca_monthly", ipca.SCHEMA),  # `index` is computed after parsing
        ("weather_daily", open_meteo.SCHEMA),  # `synthetic` is added by the builder
        ("weather_snapshots", openweather.SCHEMA),
    ):
        declared = {c.name: DTYPES[c.type] for c in SILVER_DECLARED[dataset].columns}
        assert {name: declared.get(name) for name in parsed} == dict(parsed), dataset


def test_the_consolidated_sales_columns_are_declared():
    import polars as pl

    from tasks.silver.sales import CONSOLIDATED_COLUMNS, consolidate_sales
    from validation.schemas import DTYPES

    declared = SILVER_DECLARED[catalog.SALES_CONSOLIDATED]
    assert tuple(c.name for c in declared.columns) == CONSOLIDATED_COLUMNS
    frames = {
        name: pl.DataFrame(schema={c.name: DTYPES[c.type] for c in SILVER_DECLARED[name].columns})
        for name in declared.reads
    }
    frames["products"] = frames["products"].with_columns(
        pl.lit(None, pl.String).alias("product_category_name_english")
    )
    sales, _ = consolidate_sales(*(frames[name] for name in declared.reads))
    assert sales.schema == {c.name: DTYPES[c.type] for c in declared.columns}
