"""The catalog is the one declaration of the names stages share, and everyone reads it.

Standard library only (the Spark job imports it under spark-submit); the modules that used to
declare a name now hold the catalog's own object, and the lists that must agree with it (the
schemas, the silver builders, the warehouse tables) name the same datasets and tables.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import polars as pl
import pytest

from validation import catalog
from validation.catalog_gold import GOLD_DECLARED

ROOT = Path(__file__).resolve().parents[2]
STDLIB = sys.stdlib_module_names


def _imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, anywhere in the file (relative imports as `.name`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
    return found


@pytest.mark.parametrize("name", ["catalog", "catalog_gold", "catalog_silver"])
def test_the_catalog_imports_only_the_standard_library(name):
    modules = _imported_modules(ROOT / "validation" / f"{name}.py")
    outside = {m for m in modules if m.split(".")[0] not in STDLIB}
    assert outside <= {"validation.catalog_gold", "validation.catalog_silver"}


SPARK_FILES = sorted((ROOT / "spark").rglob("*.py"))


@pytest.mark.parametrize("path", SPARK_FILES, ids=lambda p: str(p.relative_to(ROOT / "spark")))
def test_spark_imports_only_its_engines_the_stdlib_itself_and_the_catalog(path):
    def allowed(module: str) -> bool:
        top = module.split(".")[0]
        return (
            top in STDLIB
            or top in ("pyspark", "py4j", "pyarrow")  # py4j, pyarrow: pyspark's own bridges
            or top in ("duckdb", "sqlglot")  # the embedded engine and the models' translator
            or module == "spark"
            or module.startswith("spark.")
            or module == "validation.catalog"
        )

    modules = _imported_modules(path)
    assert {m for m in modules if not allowed(m)} == set()


def test_former_declarations_are_the_catalogs_objects():
    from spark import gold_job
    from tasks import bronze
    from tasks.gold import versions
    from tasks.silver import run as silver_run
    from validation import gold

    assert gold_job.GOLD_TABLES is catalog.GOLD_TABLES
    assert gold.GOLD_TABLES is catalog.GOLD_TABLES
    assert versions.GOLD_TABLES is catalog.GOLD_TABLES
    assert versions.MANIFEST is catalog.MANIFEST
    assert bronze.MANIFEST is catalog.MANIFEST
    assert versions.POINTER is catalog.GOLD_POINTER
    assert versions.VERSIONS is catalog.GOLD_VERSIONS
    assert silver_run.CONSOLIDATED is catalog.SALES_CONSOLIDATED


def test_former_duplicates_are_gone():
    from spark import gold_job, gold_write, silver
    from tasks.silver import sales
    from tasks.warehouse import schema
    from validation import gold, gold_reconcile, money

    for module, names in (
        (gold_job, ("WRITE_ORDER", "STAGING")),
        (gold_write, ("COLUMNS", "GOLD_SCHEMA")),
        (silver, ("INPUTS", "OPTIONAL")),
        (gold, ("GOLD_SCHEMAS", "SILVER_INPUTS", "BUCKETS", "read_gold_table", "_cents")),
        (gold_reconcile, ("STAR", "_cents")),
        (schema, ("GOLD_TABLES",)),
    ):
        for name in names:
            assert not hasattr(module, name), f"{module.__name__}.{name}"
    assert sales.cents is money.cents  # one cents rounding for silver and the gold gate


def test_layers_and_lake_keys():
    from blocks import settings

    assert not hasattr(settings, "LAYERS")  # declared once: import them from the catalog
    assert catalog.silver_key("orders") == "orders/data.parquet"
    assert catalog.silver_manifest_key("orders") == "orders/_manifest.json"
    assert catalog.quarantine_key("payments", "r1") == "payments/run_id=r1/rows.parquet"


def test_silver_dataset_names_agree_with_the_schemas_and_builders():
    from tasks.silver.external import BUILDERS
    from tasks.silver.olist import BUILD_ORDER
    from tasks.sources.olist.contract import SOURCE_FILES
    from validation.schemas import OLIST_SCHEMAS, SOURCE_SCHEMAS

    olist = set(catalog.OLIST_DATASETS)
    assert set(OLIST_SCHEMAS) == olist
    assert sorted(BUILD_ORDER) == sorted(olist)
    assert set(SOURCE_FILES) == olist
    assert tuple(SOURCE_SCHEMAS) == catalog.SOURCE_DATASETS
    assert tuple(BUILDERS) == catalog.SOURCE_DATASETS
    assert len(set(catalog.SILVER_DATASETS)) == len(catalog.SILVER_DATASETS)
    assert set(catalog.GOLD_INPUTS) <= set(catalog.SILVER_DATASETS)
    assert set(catalog.GOLD_OPTIONAL_INPUTS) <= set(catalog.GOLD_INPUTS)
    assert set(catalog.RECONCILED_INPUTS) <= set(catalog.GOLD_INPUTS)


def test_gold_table_names_agree_everywhere():
    from panel_dashboard.model import STATUS_PANELS
    from spark import statuses
    from spark.models import MODELS
    from tasks.warehouse.schema import TABLES
    from validation.gold_schemas import GOLD_SCHEMAS

    assert tuple(GOLD_SCHEMAS) == catalog.GOLD_TABLES
    assert tuple(TABLES) == catalog.GOLD_TABLES
    assert tuple(MODELS) == catalog.GOLD_TABLES
    assert tuple(catalog.GOLD_COLUMNS) == catalog.GOLD_TABLES
    for language, labels in catalog.ORDER_BUCKET_LABELS.items():
        assert tuple(labels) == catalog.ORDER_BUCKETS, language
    assert tuple(statuses.STATUS_BUCKETS) == catalog.ORDER_BUCKETS[1:]
    assert tuple(STATUS_PANELS) == catalog.ORDER_BUCKETS  # the dashboard's panels
    for table, sort_keys in catalog.GOLD_WRITE_ORDER.items():
        assert set(sort_keys) <= set(GOLD_SCHEMAS[table].columns), table
    for fact, key, dimension in catalog.GOLD_STAR:
        assert key in GOLD_SCHEMAS[fact].columns and key in GOLD_SCHEMAS[dimension].columns


def test_gold_builds_its_facts_first_and_every_table_after_what_it_reads():
    order = catalog.GOLD_BUILD_ORDER
    assert sorted(order) == sorted(catalog.GOLD_TABLES)
    facts = {fact for fact, _, _ in catalog.GOLD_STAR}
    assert set(order[: len(facts)]) == facts  # the warehouse load's longest inserts
    for name, table in GOLD_DECLARED.items():
        for read in table.reads:
            if read in GOLD_DECLARED:
                assert order.index(read) < order.index(name), (name, read)


# The warehouse's column kinds and the gold Parquet types they hold.
KIND_TO_POLARS = {
    "str": pl.String,
    "int": pl.Int32,
    "long": pl.Int64,
    "double": pl.Float64,
    "date": pl.Date,
    "ts": pl.Datetime("us"),
    "bool": pl.Boolean,
}


@pytest.mark.parametrize("table", catalog.GOLD_TABLES)
def test_the_declared_columns_are_the_pandera_and_warehouse_columns(table):
    """Names, order, types and nullability: the catalog's declaration is what Pandera checks
    and what the warehouse creates."""
    from tasks.warehouse.schema import TABLES
    from validation.gold_schemas import GOLD_SCHEMAS

    declared = [
        (name, KIND_TO_POLARS[kind], nullable)
        for name, (kind, nullable) in catalog.gold_columns(table).items()
    ]
    pandera = [
        (name, column.dtype.type, column.nullable)
        for name, column in GOLD_SCHEMAS[table].columns.items()
    ]
    assert declared == pandera
    assert list(TABLES[table][0]) == list(catalog.gold_columns(table))
