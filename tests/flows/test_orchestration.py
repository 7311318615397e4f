"""Orchestration behaviour against a real Prefect API: retries, failed gates, artifacts."""

from __future__ import annotations

import csv
import io
import shutil

import pytest
from prefect import flow

from blocks.errors import PipelineStageFailed
from blocks.lake import Lake
from tasks import bronze
from tasks.sources.olist.ingest import check_olist_dir
from tasks.sources.olist.synthetic import generate_olist
from tasks.sources.tasks import land_olist_file_task


def test_an_io_task_that_fails_twice_then_succeeds_shows_its_retries(
    prefect_api, tmp_path, monkeypatch
):
    from prefect.client.orchestration import get_client

    source = tmp_path / "olist"
    generate_olist(source, orders=200, seed=1)
    file = next(f for f in check_olist_dir(source) if f.dataset == "sellers")
    lake = Lake.from_url(str(tmp_path / "lake"))
    real, calls = bronze.land_bronze, {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] <= 2:
            raise ConnectionError(f"simulated S3 hiccup #{calls['n']}")
        return real(*args, **kwargs)

    monkeypatch.setattr("tasks.sources.olist.ingest.land_bronze", flaky)
    monkeypatch.setattr(land_olist_file_task, "retry_delay_seconds", [0, 0])

    @flow
    def land_one():
        return land_olist_file_task(lake, file, "retry-run", return_state=True)

    state = land_one(return_state=True)
    assert state.is_completed() and calls["n"] == 3
    task_state = state.result()
    with get_client(sync_client=True) as client:
        history = client.read_task_run_states(task_state.state_details.task_run_id)
    names = [s.name for s in history]
    assert names.count("Retrying") == 2 and names[-1] == "Completed", names


def _many_bad_prices(source, target):
    shutil.copytree(source, target)
    path = target / "olist_order_items_dataset.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    price = rows[0].index("price")
    for row in rows[1:60]:
        row[price] = "-5.00"
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def test_a_failed_gate_fails_the_run_names_the_stage_and_loads_nothing(
    prefect_api, tmp_path, cofre_home
):
    from flows.full_pipeline import full_pipeline
    from tasks.run_summary import read_run_summaries

    source = tmp_path / "src"
    generate_olist(source, orders=1500, seed=4)
    _many_bad_prices(source, tmp_path / "bad")
    state = full_pipeline(olist_dir=str(tmp_path / "bad"), sources="snapshot", return_state=True)
    assert state.is_failed()
    with pytest.raises(PipelineStageFailed, match="Stage 'silver' failed") as caught:
        state.result()
    assert "order_items" in str(caught.value) and "threshold" in str(caught.value)
    assert not (cofre_home / "warehouse.db").exists()
    lake = Lake.from_url(str(cofre_home / "lake"))
    assert lake.keys("silver") == []
    (latest,) = read_run_summaries(lake)
    assert latest["state"] == "failed"
    assert [s["stage"] for s in latest["stages"]] == ["ingestion", "silver"]
    assert latest["stages"][-1]["status"] == "failed"


def test_a_warehouse_load_kept_waiting_by_a_reader_is_retried_then_lands(
    prefect_api, postgres, tmp_path, monkeypatch
):
    """Attempt 1 meets a reader holding dim_seller, gives up at the lock timeout and rolls
    back; the task's retry condition sees WarehouseBusy and retries; attempt 2 lands."""
    import threading
    import time
    import uuid

    import psycopg
    from prefect.client.orchestration import get_client

    from blocks.settings import load_settings
    from tasks.warehouse.connection import connect_warehouse
    from tasks.warehouse.schema import METADATA, migrate
    from tasks.warehouse.tasks import load_warehouse_task
    from tests.tasks.gold.publish import publish_frames
    from tests.tasks.warehouse.gold_frames import gold_frames
    from tests.tasks.warehouse.table_checks import table_counts

    lake = Lake.from_url(str(tmp_path / "lake"))
    publish_frames(lake, "busy-gold", gold_frames())
    monkeypatch.setenv("PGPASSWORD", postgres.password)
    monkeypatch.setattr("tasks.warehouse.load.LOCK_TIMEOUT_SECONDS", 0.5)
    monkeypatch.setattr(load_warehouse_task, "retry_delay_seconds", [0, 0])
    url = postgres.url(postgres.create_database(f"wh_{uuid.uuid4().hex[:8]}"), with_password=False)
    wh = connect_warehouse(load_settings(), url)
    migrate(wh)
    # The transaction waiting for a lock, by its start time ('' when none waits): attempt 2
    # may already wait when the reader next looks, so the reader waits for attempt 1's
    # transaction to stop waiting, not for no transaction to wait.
    waiting = (
        "SELECT coalesce(min(xact_start)::text, '') FROM pg_stat_activity "
        "WHERE wait_event_type = 'Lock'"
    )

    def reader_until_one_load_gave_up(ready: threading.Event) -> None:
        with (
            psycopg.connect(url, autocommit=False) as reader,
            psycopg.connect(url, autocommit=True) as watch,
        ):
            reader.execute("SELECT count(*) FROM dw.dim_seller").fetchone()  # holds the table
            ready.set()
            deadline = time.monotonic() + 60
            first = ""
            while not first and time.monotonic() < deadline:
                time.sleep(0.05)  # attempt 1 now waits for our lock ...
                first = watch.execute(waiting).fetchone()[0]
            while watch.execute(waiting).fetchone()[0] == first and time.monotonic() < deadline:
                time.sleep(0.05)  # ... and gives up at its lock timeout; then we leave

    ready = threading.Event()
    reader = threading.Thread(target=reader_until_one_load_gave_up, args=(ready,))
    reader.start()
    ready.wait(30)

    @flow
    def load_once():
        return load_warehouse_task(lake, load_settings(), "busy-run", url, return_state=True)

    try:
        state = load_once(return_state=True)
    finally:
        reader.join(60)
    assert state.is_completed()
    with get_client(sync_client=True) as client:
        history = client.read_task_run_states(state.result().state_details.task_run_id)
    names = [s.name for s in history]
    assert names.count("Retrying") == 1 and names[-1] == "Completed", names
    assert table_counts(wh, METADATA)["fact_sales"] == 3
    wh.dispose()
