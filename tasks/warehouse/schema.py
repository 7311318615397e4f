"""The warehouse schema `dw`, owned by code, with versioned migrations.

Every gold table has a warehouse table of the same name and columns. Version 1 creates the
tables with their keys; version 2 adds the indexes the dashboard's filters use; version 3 puts
PostgreSQL's text keys in byte order (C collation); version 4 adds `cofre_lineage`, the
lineage of the loaded data (tasks/warehouse/lineage.py), replaced by every load; version 5
drops the facts' secondary indexes from the embedded SQLite warehouse (`FACT_INDEXES`). `migrate`
applies what a database lacks, in order, recording each version in `dw.schema_version`, so
an older warehouse is brought up to date without losing data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection

from tasks.warehouse.connection import Warehouse
from validation.catalog import (
    GOLD_COLUMNS,
    GOLD_KEYS,
    GOLD_STAR,
    WAREHOUSE_SCHEMA,
    gold_columns,
)

SCHEMA = WAREHOUSE_SCHEMA
LINEAGE_TABLE = "cofre_lineage"  # one row: the lineage of what the last load put in dw.*
TYPES = {
    "str": Text, "int": Integer, "long": BigInteger, "double": Double, "date": Date,
    "ts": DateTime, "bool": Boolean,
}  # fmt: skip

# table -> (columns and their kinds, primary key, unique key), in `GOLD_TABLES` order: the
# catalog's declaration (validation/catalog_gold.py), as the gold files carry it. Only key
# columns are NOT NULL here, as version 1 created them (the gold gate and writer enforce the
# declared nullability of the rest before anything is loaded).
TABLES: dict[str, tuple[dict[str, str], tuple[str, ...], tuple[str, ...]]] = {
    table: ({c: kind for c, (kind, _) in gold_columns(table).items()}, *GOLD_KEYS[table])
    for table in GOLD_COLUMNS
}

# The star's keys, as the catalog declares them: (fact, key) -> "dimension.key".
FOREIGN_KEYS = {(fact, key): f"{dimension}.{key}" for fact, key, dimension in GOLD_STAR}
# The dashboard filters by date, state and category: version 2 indexes those paths.
DASHBOARD_INDEXES = {
    "ix_fact_sales_date_key": ("fact_sales", ("date_key",)),
    "ix_fact_sales_customer_key": ("fact_sales", ("customer_key",)),
    "ix_fact_sales_product_key": ("fact_sales", ("product_key",)),
    "ix_dim_customer_state": ("dim_customer", ("customer_state",)),
    "ix_dim_product_category_label": ("dim_product", ("category_label",)),
    "ix_sales_weather_daily_date": ("sales_weather_daily", ("date",)),
    "ix_fact_orders_date_key": ("fact_orders", ("date_key",)),
    "ix_fact_orders_customer_key": ("fact_orders", ("customer_key",)),
}
# The facts' indexes among them. SQLite drops them (version 5): its dashboard answers filters
# from the facts in memory (panel_dashboard/snapshot.py, up to `MAX_ROWS` items), so no filter
# reads them, while rebuilding them cost every 10x load about 5 of its 13 s (SQLite builds one
# index at a time, each a full scan of the fact). On SQL over the facts (beyond `MAX_ROWS`)
# they sped up only very selective filters, and slowed broad ones (docs/performance.md).
# PostgreSQL keeps them: BI tools query it directly, and its load rebuilds them cheaply.
FACT_INDEXES = tuple(
    name for name, (table, _) in DASHBOARD_INDEXES.items() if table.startswith("fact_")
)


# Text keys (hash-like ids) compare byte-wise on PostgreSQL: the C collation makes index
# builds, key checks and joins on them faster than a locale collation, and ids have no
# linguistic order to respect. SQLite's default (BINARY) already is byte-wise.
KEY_TEXT = Text().with_variant(Text(collation="C"), "postgresql")


def key_columns() -> dict[str, list[str]]:
    """Text columns that are primary or foreign keys, per table (they get `KEY_TEXT`)."""
    keys: dict[str, list[str]] = {}
    for name, (columns, primary_key, _) in TABLES.items():
        for column, kind in columns.items():
            if kind == "str" and (column in primary_key or (name, column) in FOREIGN_KEYS):
                keys.setdefault(name, []).append(column)
    return keys


def build_metadata() -> MetaData:
    metadata = MetaData(schema=SCHEMA)
    text_keys = key_columns()
    Table(
        "schema_version",
        metadata,
        Column("version", Integer, primary_key=True),
        Column("description", Text, nullable=False),
        Column("applied_at", DateTime, nullable=False),
    )
    Table(
        LINEAGE_TABLE,
        metadata,
        Column("run_id", Text, primary_key=True),
        Column("gold_version", Text, nullable=False),
        Column("loaded_at", DateTime, nullable=False),
        Column("lineage", Text, nullable=False),  # JSON (tasks/warehouse/lineage.py)
    )
    for name, (columns, primary_key, unique) in TABLES.items():
        items: list = []
        for column, kind in columns.items():
            target = FOREIGN_KEYS.get((name, column))
            args = [ForeignKey(f"{SCHEMA}.{target}")] if target else []
            type_ = KEY_TEXT if column in text_keys.get(name, ()) else TYPES[kind]
            items.append(Column(column, type_, *args, nullable=column not in primary_key))
        if primary_key:
            items.append(PrimaryKeyConstraint(*primary_key, name=f"pk_{name}"))
        if unique:
            items.append(UniqueConstraint(*unique, name=f"uq_{name}"))
        Table(name, metadata, *items)
    return metadata


METADATA = build_metadata()


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection, MetaData], None]


def _create_tables(conn: Connection, metadata: MetaData) -> None:
    tables = [t for t in metadata.sorted_tables if t.name in TABLES]
    metadata.create_all(conn, tables=tables, checkfirst=True)


def _lineage_table(conn: Connection, metadata: MetaData) -> None:
    metadata.tables[f"{SCHEMA}.{LINEAGE_TABLE}"].create(conn, checkfirst=True)


def _dashboard_indexes(conn: Connection, metadata: MetaData) -> None:
    # Plain DDL (both dialects know IF NOT EXISTS): an `Index` object would attach itself to
    # the shared metadata and be created again by version 1 in the next database.
    prefix = f"{SCHEMA}." if conn.dialect.name == "postgresql" else ""
    for name, (table, columns) in DASHBOARD_INDEXES.items():
        quoted = ", ".join(f'"{c}"' for c in columns)
        conn.execute(text(f'CREATE INDEX IF NOT EXISTS {name} ON {prefix}"{table}" ({quoted})'))


def _byte_order_keys(conn: Connection, metadata: MetaData) -> None:
    """Text keys to the C collation (PostgreSQL; tables created by version 1 before it)."""
    if conn.dialect.name != "postgresql":
        return
    for table, columns in key_columns().items():
        for column in columns:
            collation = conn.execute(
                text(
                    "SELECT collation_name FROM information_schema.columns "
                    "WHERE table_schema = :schema AND table_name = :table AND column_name = :column"
                ),
                {"schema": SCHEMA, "table": table, "column": column},
            ).scalar()
            if collation != "C":  # ALTER rebuilds the column's indexes and foreign keys
                alter = f'ALTER TABLE {SCHEMA}."{table}" ALTER COLUMN "{column}"'
                conn.execute(text(f'{alter} TYPE text COLLATE "C"'))


def _sqlite_without_fact_indexes(conn: Connection, metadata: MetaData) -> None:
    """Drop `FACT_INDEXES` from a SQLite warehouse (rows untouched; PostgreSQL keeps them)."""
    if conn.dialect.name != "sqlite":
        return
    for name in FACT_INDEXES:
        conn.execute(text(f"DROP INDEX IF EXISTS {name}"))


MIGRATIONS = (
    Migration(1, "star schema and marts with keys", _create_tables),
    Migration(
        2, "indexes for the dashboard's date, state and category filters", _dashboard_indexes
    ),
    Migration(3, "text keys in byte order (C collation) on PostgreSQL", _byte_order_keys),
    Migration(4, "cofre_lineage: the lineage of the loaded data", _lineage_table),
    Migration(
        5,
        "SQLite: the facts' secondary indexes dropped (filters read the facts in memory)",
        _sqlite_without_fact_indexes,
    ),
)
LATEST = MIGRATIONS[-1].version


def schema_version(warehouse: Warehouse) -> int | None:
    """The latest migration `warehouse` has (None: none, not even the version table)."""
    version_table = METADATA.tables[f"{SCHEMA}.schema_version"]
    schema = SCHEMA if warehouse.dialect == "postgresql" else None
    with warehouse.engine.connect() as conn:
        if not inspect(conn).has_table(version_table.name, schema=schema):
            return None
        return conn.execute(select(func.max(version_table.c.version))).scalar()


def migrate(warehouse: Warehouse, upto: int = LATEST) -> list[int]:
    """Apply every migration the warehouse lacks, up to `upto`; return the versions applied."""
    version_table = METADATA.tables[f"{SCHEMA}.schema_version"]
    applied: list[int] = []
    with warehouse.engine.begin() as conn:
        if warehouse.dialect == "postgresql":
            conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
            conn.execute(text("SELECT pg_advisory_xact_lock(4242)"))  # one migrator at a time
        version_table.create(conn, checkfirst=True)
        done = set(conn.execute(select(version_table.c.version)).scalars())
        for migration in MIGRATIONS:
            if migration.version in done or migration.version > upto:
                continue
            migration.apply(conn, METADATA)
            conn.execute(
                version_table.insert().values(
                    version=migration.version,
                    description=migration.description,
                    applied_at=datetime.now(UTC).replace(tzinfo=None),
                )
            )
            applied.append(migration.version)
    return applied
