"""Lineage: bronze objects -> silver datasets -> gold version -> warehouse load, recorded by
the stages and assembled by the load; round trip through SQLite and PostgreSQL, no secret."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime

import polars as pl
import pytest

from blocks.lake import Lake
from blocks.settings import load_settings
from tasks.bronze import land_bronze
from tasks.gold import versions
from tasks.layers.silver import silver_inputs
from tasks.silver.external import build_source_silver
from tasks.silver.olist import bronze_ref, write_silver_dataset
from tasks.warehouse.connection import connect_warehouse
from tasks.warehouse.lineage import (
    MARKDOWN_ROWS,
    build_lineage,
    lineage_markdown,
    read_loaded_lineage,
    safe_target,
)
from tasks.warehouse.run import load_warehouse
from tests.tasks.gold.publish import publish_frames
from tests.tasks.lineage_checks import assert_lineage_matches_lake, assert_warehouse_holds
from tests.tasks.warehouse.gold_frames import gold_frames
from validation.catalog import GOLD_INPUTS, SALES_CONSOLIDATED

MARKER = "lineage-secret-marker-7f3a"


def _land(lake: Lake, dataset: str, data: bytes, run_id: str = "ingest-1"):
    return land_bronze(
        lake, source="olist", dataset=dataset, filename=f"{dataset}.csv", run_id=run_id, data=data
    ).manifest


def _publish_gold(lake: Lake, version: str) -> None:
    """Gold version `version` from the tiny gold set, sealed with today's silver as inputs."""
    for table, frame in gold_frames().items():
        buffer = io.BytesIO()
        frame.write_parquet(buffer)
        key = versions.version_key(version, f"{table}/part-00000.parquet")
        lake.write_bytes("gold", key, buffer.getvalue())
    _, digest = versions.seal_version(lake, version, version, silver_inputs(lake, GOLD_INPUTS))
    versions.make_current(lake, version, digest)


@pytest.fixture
def lake(cofre_home) -> Lake:
    """Bronze orders and items, silver built from them (and sales from both), gold v1."""
    lake = Lake.from_settings(load_settings())
    orders = _land(lake, "orders", b"order_id\no1\no2\n")
    items = _land(lake, "order_items", b"order_id,order_item_id\no1,1\n")
    frame = pl.DataFrame({"order_id": ["o1", "o2"]})
    write_silver_dataset(lake, "orders", frame, "silver-1", inputs=[bronze_ref(orders)])
    write_silver_dataset(lake, "order_items", frame, "silver-1", inputs=[bronze_ref(items)])
    both = [bronze_ref(orders), bronze_ref(items)]
    write_silver_dataset(lake, SALES_CONSOLIDATED, frame, "silver-1", inputs=both)
    _publish_gold(lake, "gold-1")
    return lake


def test_the_load_records_the_chain_of_the_version_it_loaded(lake, cofre_home):
    settings = load_settings()
    summary = load_warehouse(lake, settings, "load-1")
    lineage = summary.lineage
    assert_lineage_matches_lake(cofre_home / "lake", lineage)
    assert [s["dataset"] for s in lineage["silver"]] == [
        "order_items",
        "orders",
        SALES_CONSOLIDATED,
    ]
    orders = next(b for b in lineage["bronze"] if b["dataset"] == "orders")
    assert orders["silver"] == ["orders", SALES_CONSOLIDATED]  # one object, every dataset it fed
    assert orders["landed_by_run"] == "ingest-1" and orders["source"] == "olist"
    assert lineage["gold"]["version"] == "gold-1"
    assert lineage["warehouse"]["run_id"] == "load-1"
    assert lineage["warehouse"]["rows"] == sum(f.height for f in gold_frames().values())
    assert summary.rows == lineage["warehouse"]["tables"]  # the lineage row is not a gold table
    assert summary.stage_report().run_facts["lineage"] == lineage
    warehouse = connect_warehouse(settings)
    try:
        assert_warehouse_holds(warehouse, lineage)
        # A later load of the same version (a run that reuses gold) keeps its chain.
        again = load_warehouse(lake, settings, "load-2").lineage
        assert again["bronze"] == lineage["bronze"] and again["silver"] == lineage["silver"]
        assert again["gold"] == lineage["gold"] and again["warehouse"]["run_id"] == "load-2"
        assert_warehouse_holds(warehouse, again)  # replaced, not added
    finally:
        warehouse.dispose()


def test_gold_made_before_inputs_were_recorded_says_so(cofre_home):
    lake = Lake.from_settings(load_settings())
    publish_frames(lake, "old-gold", gold_frames())  # no inputs in its manifest
    lineage = load_warehouse(lake, load_settings(), "load-old").lineage
    assert lineage["gold"]["inputs_recorded"] is False
    assert lineage["bronze"] == [] and lineage["silver"] == []
    assert "made before gold recorded its silver inputs" in lineage_markdown(lineage)


def test_silver_written_before_lineage_is_unknown_not_empty(cofre_home):
    lake = Lake.from_settings(load_settings())
    write_silver_dataset(lake, "orders", pl.DataFrame({"order_id": ["o1"]}), "old-silver")
    assert silver_inputs(lake, ("orders", "payments"))["orders"]["bronze"] is None
    assert "not recorded" in lineage_markdown(
        build_lineage(
            {"version": "v", "tables": {}, "inputs": silver_inputs(lake, ("orders",))},
            None,
            lake=lake,
            target="sqlite:///x.db",
            run_id="r",
            loaded_at=datetime.now(UTC),
            rows={},
        )
    )


def test_external_silver_lists_every_bronze_payload_it_merged(cofre_home):
    lake = Lake.from_settings(load_settings())
    payloads = [b'[{"data": "01/01/2017", "valor": "0.38"}]',
                b'[{"data": "01/02/2017", "valor": "0.33"}]']  # fmt: skip
    landed = [
        land_bronze(lake, source="bcb_sgs", dataset="ipca_433", filename="ipca.json",
                    run_id=f"r{i}", data=data).manifest
        for i, data in enumerate(payloads)
    ]  # fmt: skip
    inputs: dict = {}
    build_source_silver(lake, inputs=inputs)
    assert [ref["sha256"] for ref in inputs["ipca_monthly"]] == [m.sha256 for m in landed]
    assert {ref["landed_by_run"] for ref in inputs["ipca_monthly"]} == {"r0", "r1"}


def test_a_password_never_reaches_the_lineage():
    target = f"postgresql+psycopg://cofre:{MARKER}@db:5432/cofre (block prod)"
    assert MARKER not in safe_target(target)
    assert safe_target(target) == "postgresql+psycopg://cofre:***@db:5432/cofre (block prod)"
    assert safe_target("sqlite:////srv/cofre/warehouse.db") == "sqlite:////srv/cofre/warehouse.db"


def test_the_artifact_lists_every_bronze_key_and_caps_a_long_list(lake):
    lineage = load_warehouse(lake, load_settings(), "load-md").lineage
    markdown = lineage_markdown(lineage)
    for bronze in lineage["bronze"]:
        assert f"`{bronze['key']}` | `{bronze['sha256']}`" in markdown
    many = {**lineage, "bronze": lineage["bronze"] * (MARKDOWN_ROWS + 5)}
    assert "… and " in lineage_markdown(many) and "more (all of them" in lineage_markdown(many)


@pytest.mark.integration
def test_postgres_through_the_encrypted_block_holds_the_chain_and_no_password(
    lake, prefect_api, postgres, monkeypatch
):
    """A role whose password is a marker: the load's lineage (summary and `dw.cofre_lineage`,
    loaded by binary COPY) names the warehouse without it."""
    import psycopg

    from blocks.secrets.credentials import PostgresCredentials
    from blocks.secrets.keyring import ensure_keyring

    ensure_keyring()
    role, database = f"lineage_{uuid.uuid4().hex[:8]}", f"wh_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres.url(), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{MARKER}'")
        conn.execute(f'CREATE DATABASE "{database}" OWNER {role}')
    PostgresCredentials.encrypt(
        name="lineage-warehouse", host=postgres.host, port=postgres.port, database=database,
        user=role, password=MARKER, sslmode="disable",
    ).save("lineage-warehouse", overwrite=True)  # fmt: skip
    monkeypatch.setenv("COFRE_WAREHOUSE_BLOCK", "lineage-warehouse")
    settings = load_settings()
    lineage = load_warehouse(lake, settings, "load-pg").lineage
    assert MARKER not in json.dumps(lineage) and role in lineage["warehouse"]["target"]
    warehouse = connect_warehouse(settings)
    try:
        stored = read_loaded_lineage(warehouse.engine)
        assert stored == lineage
        with warehouse.engine.connect() as conn:
            raw = conn.exec_driver_sql("SELECT lineage FROM dw.cofre_lineage").scalar_one()
        assert MARKER not in raw
    finally:
        warehouse.dispose()


def test_the_chain_ends_at_the_provenance_of_the_runs_that_landed_bronze(lake):
    """Each bronze object leads to its landing run's provenance: the Olist directory, who
    asked and whether the parameters were the deployment's."""
    from blocks.secrets.keyring import ensure_keyring
    from tasks.provenance import build_provenance, olist_origin, record_provenance

    ensure_keyring()
    provenance = build_provenance(
        olist=olist_origin(None, orders=60, seed=5),
        files={"olist_orders_dataset.csv": "ab" * 32},
        sources={"ipca": "snapshot", "open_meteo": "skipped", "openweather": "live"},
        origin={"requested_by": "deployment full-pipeline/daily, flow run x", "declared": False,
                "undeclared": ["olist_dir"]},
    )  # fmt: skip
    record_provenance(lake, "ingest-1", provenance)
    lineage = load_warehouse(lake, load_settings(), "load-1").lineage
    assert lineage["provenance"] == {"ingest-1": provenance}
    text = lineage_markdown(lineage)
    assert "Bronze landed by run ingest-1: Inputs: Olist synthetic (seed 5, 60 orders)" in text
    assert "parameters NOT as declared: olist_dir" in text
