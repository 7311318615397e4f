"""The warehouse on a real PostgreSQL 15 and on SQLite: create, load, reload, fail, read back."""

from __future__ import annotations

import uuid

import polars as pl
import psycopg
import pytest
from sqlalchemy import inspect, select, text

from blocks.errors import ConfigurationError, InvalidSourceData, WarehouseBusy
from blocks.settings import load_settings
from tasks.warehouse.connection import connect_warehouse
from tasks.warehouse.load import load_tables
from tasks.warehouse.schema import DASHBOARD_INDEXES, FACT_INDEXES, LATEST, METADATA, migrate
from tests.tasks.warehouse.gold_frames import NASTY_CATEGORY, gold_frames
from tests.tasks.warehouse.table_checks import current_version, table_checksum, table_counts
from validation.catalog import GOLD_TABLES


@pytest.fixture
def pg_url(postgres, monkeypatch) -> str:
    """A fresh database on the session's PostgreSQL: its URL, without the password."""
    monkeypatch.setenv("PGPASSWORD", postgres.password)  # libpq reads it; never in the URL
    return postgres.url(postgres.create_database(f"wh_{uuid.uuid4().hex[:8]}"), with_password=False)


@pytest.fixture
def pg_warehouse(pg_url):
    wh = connect_warehouse(load_settings(), pg_url)
    yield wh
    wh.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def warehouse(request, tmp_path):
    if request.param == "postgresql":
        yield request.getfixturevalue("pg_warehouse")
        return
    wh = connect_warehouse(load_settings(home=str(tmp_path)))
    yield wh
    wh.dispose()


def _checksums(wh) -> dict:
    return {t: table_checksum(wh, METADATA.tables[f"dw.{t}"]) for t in GOLD_TABLES}


def test_schema_creation_is_idempotent(warehouse):
    assert migrate(warehouse) == [1, 2, 3, 4, 5]
    assert migrate(warehouse) == []
    assert current_version(warehouse) == LATEST
    assert set(table_counts(warehouse, METADATA)) >= set(GOLD_TABLES)


def test_load_then_reload_leaves_identical_tables(warehouse):
    migrate(warehouse)
    frames = gold_frames()
    counts = load_tables(warehouse, METADATA, frames)
    assert counts == {t: frames[t].height for t in GOLD_TABLES}
    first = _checksums(warehouse)
    load_tables(warehouse, METADATA, gold_frames())
    assert _checksums(warehouse) == first


def test_marts_totals_equal_the_gold_totals(warehouse):
    migrate(warehouse)
    frames = gold_frames()
    load_tables(warehouse, METADATA, frames)
    with warehouse.engine.connect() as conn:
        for name, frame in frames.items():
            table = METADATA.tables[f"dw.{name}"]
            for column, dtype in frame.schema.items():
                if dtype in (pl.Float64, pl.Int64, pl.Int32):
                    stored = conn.execute(
                        select(text(f'sum("{column}")')).select_from(table)
                    ).scalar()
                    assert (stored or 0) == pytest.approx(frame[column].sum()), (name, column)


def test_a_failure_midway_rolls_back_and_old_rows_stay(warehouse, monkeypatch):
    migrate(warehouse)
    load_tables(warehouse, METADATA, gold_frames())
    before = _checksums(warehouse)
    broken = gold_frames(price_bump=5.0)
    # A fact row pointing at a product that does not exist: the FK fails after every
    # dimension has already been rewritten inside the transaction.
    broken["fact_sales"] = broken["fact_sales"].with_columns(
        pl.when(pl.col("order_id") == "o2")
        .then(pl.lit("ghost"))
        .otherwise(pl.col("product_key"))
        .alias("product_key")
    )
    broken["dim_customer"] = broken["dim_customer"].with_columns(
        pl.lit("XX").alias("customer_state")
    )
    with pytest.raises(Exception, match=r"(?i)foreign key"):
        load_tables(warehouse, METADATA, broken)
    assert _checksums(warehouse) == before


def test_quotes_and_semicolons_load_and_read_back_intact(warehouse):
    migrate(warehouse)
    load_tables(warehouse, METADATA, gold_frames())
    products = METADATA.tables["dw.dim_product"]
    with warehouse.engine.connect() as conn:
        found = (
            conn.execute(
                select(products.c.product_key).where(products.c.category_label == NASTY_CATEGORY)
            )
            .scalars()
            .all()
        )
        assert found == ["p1"]
        assert (
            conn.execute(
                select(text("count(*)")).select_from(METADATA.tables["dw.fact_sales"])
            ).scalar()
            == 3
        )


def _index_names(wh) -> set[str]:
    found, schema = inspect(wh.engine), "dw" if wh.dialect == "postgresql" else None
    return {i["name"] for t in GOLD_TABLES for i in found.get_indexes(t, schema=schema)}


def test_an_older_schema_is_migrated_without_losing_data(warehouse):
    assert migrate(warehouse, upto=1) == [1]
    load_tables(warehouse, METADATA, gold_frames())
    before = _checksums(warehouse)
    assert migrate(warehouse, upto=4) == [2, 3, 4]
    assert set(DASHBOARD_INDEXES) <= _index_names(warehouse)  # version 2 built them all
    assert migrate(warehouse) == [5]
    assert _checksums(warehouse) == before
    assert current_version(warehouse) == LATEST
    # Version 5: the facts' indexes leave SQLite (filters read the facts in memory) and stay
    # on PostgreSQL; the dimensions' and the weather mart's stay on both.
    kept = set(DASHBOARD_INDEXES) - set(FACT_INDEXES)
    expected = kept if warehouse.dialect == "sqlite" else set(DASHBOARD_INDEXES)
    assert _index_names(warehouse) & set(DASHBOARD_INDEXES) == expected
    assert FACT_INDEXES and all(name.startswith("ix_fact_") for name in FACT_INDEXES)
    load_tables(warehouse, METADATA, gold_frames())  # a load keeps the indexes as they are
    assert _index_names(warehouse) & set(DASHBOARD_INDEXES) == expected
    assert _checksums(warehouse) == before


def test_text_keys_of_an_older_postgres_schema_move_to_byte_order(pg_warehouse):
    """Version 3 on tables created before it (locale collation): keys move to C, rows stay."""
    wh = pg_warehouse
    collations = text(
        "SELECT table_name || '.' || column_name, collation_name FROM information_schema.columns "
        "WHERE table_schema = 'dw' AND column_name IN ('order_id', 'customer_key', 'product_key')"
    )
    migrate(wh, upto=2)
    with wh.engine.begin() as conn:  # as version 1 created them before version 3 existed
        for qualified, _collation in conn.execute(collations).all():
            name, col = qualified.split(".")
            conn.execute(
                text(f'ALTER TABLE dw."{name}" ALTER COLUMN "{col}" TYPE text COLLATE "default"')
            )
    load_tables(wh, METADATA, gold_frames())
    before = _checksums(wh)
    assert migrate(wh, upto=3) == [3]
    assert _checksums(wh) == before
    with wh.engine.connect() as conn:
        found = dict(conn.execute(collations).all())
    assert found and set(found.values()) == {"C"}, found


def test_a_password_in_the_url_is_refused():
    with pytest.raises(ConfigurationError, match="cofre secrets set postgres"):
        connect_warehouse(load_settings(), "postgresql://cofre:hunter2@db/cofre")


def test_the_encrypted_block_connects_to_postgres(prefect_api, postgres, monkeypatch):
    from blocks.secrets.credentials import PostgresCredentials
    from blocks.secrets.keyring import ensure_keyring

    ensure_keyring()
    database = postgres.create_database(f"wh_{uuid.uuid4().hex[:8]}")
    PostgresCredentials.encrypt(
        name="test-warehouse", host=postgres.host, port=postgres.port, database=database,
        user=postgres.user, password=postgres.password, sslmode="disable",
    ).save("test-warehouse", overwrite=True)  # fmt: skip
    monkeypatch.setenv("COFRE_WAREHOUSE_BLOCK", "test-warehouse")
    wh = connect_warehouse(load_settings())
    try:
        assert postgres.password not in wh.description and "***" in wh.description
        migrate(wh)
        assert load_tables(wh, METADATA, gold_frames())["fact_sales"] == 3
    finally:
        wh.dispose()


def _catalog(wh) -> dict:
    """Every key, foreign key and index on dw.* (PostgreSQL), as definitions."""
    with wh.engine.connect() as conn:
        constraints = conn.execute(
            text(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE connamespace = 'dw'::regnamespace"
            )
        ).all()
        indexes = conn.execute(
            text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'dw'")
        ).all()
    return {"constraints": sorted(constraints), "indexes": sorted(indexes)}


def test_postgres_bulk_load_restores_every_key_index_and_outside_reference(pg_warehouse):
    """The bulk path drops and re-creates keys, indexes and foreign keys inside the load's
    transaction: afterwards (and after a failed load) the catalog is exactly as before, a
    DBA's own foreign key into a dimension included, and foreign keys are enforced again."""
    wh = pg_warehouse
    migrate(wh)
    with wh.engine.begin() as conn:  # a table Cofre does not own, pointing at a dimension
        conn.execute(
            text(
                "CREATE TABLE dw.analyst_notes (product_key text "
                "REFERENCES dw.dim_product (product_key), note text)"
            )
        )
    load_tables(wh, METADATA, gold_frames())
    with wh.engine.begin() as conn:
        conn.execute(text("INSERT INTO dw.analyst_notes VALUES ('p1', 'check')"))
    before = _catalog(wh)
    assert len(before["indexes"]) > len(GOLD_TABLES)  # keys and the dashboard's indexes
    load_tables(wh, METADATA, gold_frames(price_bump=1.0))
    assert _catalog(wh) == before
    # A reload that would orphan the analyst's row fails as a whole: nothing changes.
    without_p1 = gold_frames()
    without_p1["dim_product"] = without_p1["dim_product"].filter(pl.col("product_key") != "p1")
    without_p1["fact_sales"] = without_p1["fact_sales"].filter(pl.col("product_key") != "p1")
    with pytest.raises(Exception, match="analyst_notes"):
        load_tables(wh, METADATA, without_p1)
    assert _catalog(wh) == before
    with wh.engine.begin() as conn, pytest.raises(Exception, match=r"(?i)foreign key"):
        conn.execute(
            text(
                "INSERT INTO dw.fact_sales (order_id, order_item_id, product_key) "
                "VALUES ('x', 1, 'ghost')"
            )
        )


def test_sqlite_bulk_load_restores_indexes_and_foreign_keys(tmp_path):
    wh = connect_warehouse(load_settings(home=str(tmp_path)))
    catalog = text("SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name")
    try:
        migrate(wh)
        with wh.engine.connect() as conn:
            before = conn.execute(catalog).all()
        assert any(name == "ix_dim_product_category_label" for name, _ in before)
        load_tables(wh, METADATA, gold_frames())
        broken = gold_frames()
        broken["fact_sales"] = broken["fact_sales"].with_columns(
            pl.lit("ghost").alias("seller_key")
        )
        with pytest.raises(Exception, match=r"3 row\(s\) of fact_sales point at no dim_seller row"):
            load_tables(wh, METADATA, broken)
        with wh.engine.connect() as conn:
            assert conn.execute(catalog).all() == before
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.execute(text("SELECT count(*) FROM fact_sales")).scalar() == 3
    finally:
        wh.dispose()


def test_control_characters_and_backslashes_round_trip(warehouse):
    """Backslash, tab, newline and CR survive the COPY (CSV quoting); a literal "\\N" stays a
    string, and a null stays null."""
    migrate(warehouse)
    frames = gold_frames()
    tricky = ["back\\slash", "tab\there", "line\nbreak", "carriage\rreturn", "\\N", None]
    products = frames["dim_product"]
    extra = pl.concat([products.head(1)] * len(tricky)).with_columns(
        pl.Series("product_key", [f"extra-{i}" for i in range(len(tricky))]),
        pl.Series("category_label", tricky, dtype=pl.String),
    )
    frames["dim_product"] = pl.concat([products, extra])
    load_tables(warehouse, METADATA, frames)
    table = METADATA.tables["dw.dim_product"]
    with warehouse.engine.connect() as conn:
        stored = dict(conn.execute(select(table.c.product_key, table.c.category_label)).all())
    assert [stored[f"extra-{i}"] for i in range(len(tricky))] == tricky


def test_a_value_postgres_cannot_hold_aborts_the_copy_and_rolls_back(pg_warehouse):
    """An error raised while the binary COPY is streaming (here a delivery_days beyond int4,
    caught by the encoder) aborts the COPY and the whole load; the connection stays usable."""
    wh = pg_warehouse
    migrate(wh)
    load_tables(wh, METADATA, gold_frames())
    before, catalog = _checksums(wh), _catalog(wh)
    broken = gold_frames(price_bump=2.0)
    broken["fact_sales"] = broken["fact_sales"].with_columns(
        pl.when(pl.col("order_id") == "o2")
        .then(pl.lit(2**31, dtype=pl.Int64))
        .otherwise(pl.col("delivery_days").cast(pl.Int64))
        .alias("delivery_days")
    )
    with pytest.raises(
        InvalidSourceData,
        match=r"fact_sales, row 3, column delivery_days: 2147483648 does not fit",
    ):
        load_tables(wh, METADATA, broken)
    assert _checksums(wh) == before
    assert _catalog(wh) == catalog
    assert load_tables(wh, METADATA, gold_frames())["fact_sales"] == 3  # usable again


def test_a_table_kept_busy_by_another_session_times_out_cleanly(pg_warehouse, pg_url, monkeypatch):
    """A reader holding a table (a long query, an idle open transaction) makes the load give
    up after the lock timeout instead of queueing every later reader behind it."""
    wh = pg_warehouse
    monkeypatch.setattr("tasks.warehouse.load.LOCK_TIMEOUT_SECONDS", 0.5)
    migrate(wh)
    load_tables(wh, METADATA, gold_frames())
    before = _checksums(wh)
    with psycopg.connect(pg_url) as reader:  # its transaction stays open until the block ends
        reader.execute("SELECT count(*) FROM dw.dim_seller").fetchone()
        with pytest.raises(WarehouseBusy, match=r"busy for over 0.5 s\. Nothing changed"):
            load_tables(wh, METADATA, gold_frames(price_bump=3.0))
        assert reader.execute("SELECT count(*) FROM dw.fact_sales").fetchone() == (3,)
    assert _checksums(wh) == before
    load_tables(wh, METADATA, gold_frames(price_bump=3.0))  # the reader is gone
    assert _checksums(wh) != before


# Another process holding SQLite's write lock until its stdin closes.
_WRITER = (
    "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
    "c.execute('BEGIN IMMEDIATE'); print('holding', flush=True); sys.stdin.read(); "
    "c.execute('ROLLBACK')"
)


def test_sqlite_held_by_another_writer_times_out_cleanly(tmp_path, monkeypatch):
    import subprocess
    import sys

    monkeypatch.setattr("tasks.warehouse.load.LOCK_TIMEOUT_SECONDS", 0.3)
    wh = connect_warehouse(load_settings(home=str(tmp_path)))
    try:
        migrate(wh)
        load_tables(wh, METADATA, gold_frames())
        before = _checksums(wh)
        wh.dispose()  # this process keeps no connection open beside the load's
        writer = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(tmp_path / "warehouse.db")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert writer.stdout.readline().strip() == "holding"
            with pytest.raises(WarehouseBusy, match=r"busy for over 0.3 s"):
                load_tables(wh, METADATA, gold_frames(price_bump=3.0))
        finally:
            writer.communicate("", timeout=30)
        assert _checksums(wh) == before
        load_tables(wh, METADATA, gold_frames(price_bump=3.0))
        assert _checksums(wh) != before
    finally:
        wh.dispose()
