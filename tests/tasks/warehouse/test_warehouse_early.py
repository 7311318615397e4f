"""The warehouse load begun while gold writes its version (tasks/warehouse/early.py): it
commits exactly what an ordinary load of the published version commits, readers see the
previous tables until then, and anything else (a failed gold stage, a file changed after it
was read, another version made current, a dangling key) leaves the warehouse as an ordinary
load would: rolled back, or loaded from the lake."""

from __future__ import annotations

import io
import logging
import sqlite3
import threading
from pathlib import Path

import polars as pl
import pytest

from blocks.errors import InvalidSourceData
from blocks.lake import Lake
from blocks.settings import load_settings
from tasks.gold import versions
from tasks.warehouse.connection import connect_warehouse
from tasks.warehouse.early import early_warehouse_load
from tasks.warehouse.run import load_warehouse, migrate_and_load
from tasks.warehouse.schema import METADATA, migrate
from tests.tasks.warehouse.gold_frames import gold_frames
from tests.tasks.warehouse.table_checks import table_checksum
from validation.catalog import GOLD_BUILD_ORDER, GOLD_TABLES, Layer

WAIT = 60  # seconds: the thread inserts a few rows per table


class GoldFailed(Exception):
    """Stands in for a gold stage that fails after writing its tables (its gate)."""


@pytest.fixture
def lake(cofre_home) -> Lake:
    return Lake.from_settings(load_settings())


def _write(lake: Lake, version: str, frames: dict[str, pl.DataFrame]) -> None:
    """Each table's part, as the gold job writes them (whole, one after the other)."""
    for table in GOLD_BUILD_ORDER:
        buffer = io.BytesIO()
        frames[table].write_parquet(buffer)
        key = versions.version_key(version, f"{table}/part-00000.parquet")
        lake.write_bytes(Layer.GOLD, key, buffer.getvalue())


def _publish(lake: Lake, version: str) -> None:
    """Seal the version's files and make it current, as the gold stage does after its gate."""
    _, digest = versions.seal_version(lake, version, version)
    versions.make_current(lake, version, digest)


def _checksums(path: Path) -> dict:
    wh = connect_warehouse(load_settings(warehouse_url=f"sqlite:///{path}"))
    try:
        return {t: table_checksum(wh, METADATA.tables[f"dw.{t}"]) for t in GOLD_TABLES}
    finally:
        wh.dispose()


def _loaded_v1(lake: Lake, settings, path: Path) -> dict:
    """Version v1 written, published and loaded the ordinary way; the warehouse's checksums."""
    _write(lake, "v1", gold_frames())
    _publish(lake, "v1")
    load_warehouse(lake, settings, "v1")
    return _checksums(path)


def _ordinary(tmp_path: Path, *frame_sets: dict[str, pl.DataFrame]) -> dict:
    """The checksums an ordinary load of each frame set in turn leaves in a warehouse."""
    path = tmp_path / "ordinary" / "warehouse.db"
    path.parent.mkdir(exist_ok=True)
    wh = connect_warehouse(load_settings(warehouse_url=f"sqlite:///{path}"))
    try:
        for frames in frame_sets:
            migrate_and_load(wh, dict(frames))
    finally:
        wh.dispose()
    return _checksums(path)


def _asides(home: Path) -> list[str]:
    return [p.name for p in home.iterdir() if ".new-" in p.name]


def test_a_load_begun_with_gold_commits_what_an_ordinary_load_commits(lake, cofre_home, tmp_path):
    settings, path = load_settings(), cofre_home / "warehouse.db"
    # A new warehouse file (built aside), then the next version in place.
    for version, frames in (("v1", gold_frames()), ("v2", gold_frames(price_bump=1.5))):
        with early_warehouse_load(lake, settings, version) as early:
            assert early is not None
            _write(lake, version, frames)
            assert early.wait_inserted(WAIT)
            _publish(lake, version)
            summary = load_warehouse(lake, settings, version)
        assert summary.started_during_gold
        assert summary.gold_version == version
        assert summary.rows == {t: frames[t].height for t in GOLD_TABLES}
        assert "begun while gold ran" in summary.stage_report().note
    assert _checksums(path) == _ordinary(tmp_path, gold_frames(), gold_frames(price_bump=1.5))
    with sqlite3.connect(path) as conn:
        lineage = conn.execute("SELECT run_id, gold_version FROM cofre_lineage").fetchall()
        assert lineage == [("v2", "v2")]  # replaced with the data it describes
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert _asides(cofre_home) == []


def test_readers_see_the_previous_tables_until_the_commit(lake, cofre_home):
    settings, path = load_settings(), cofre_home / "warehouse.db"
    before = _loaded_v1(lake, settings, path)
    with early_warehouse_load(lake, settings, "v2") as early:
        _write(lake, "v2", gold_frames(price_bump=1.5))
        assert early.wait_inserted(WAIT)
        assert _checksums(path) == before  # the new rows are not committed yet
        _publish(lake, "v2")
        load_warehouse(lake, settings, "v2")
    assert _checksums(path) != before


@pytest.mark.parametrize("existing", [False, True], ids=["new-file", "in-place"])
def test_a_gold_stage_that_fails_leaves_the_warehouse_as_it_was(lake, cofre_home, existing):
    settings, path = load_settings(), cofre_home / "warehouse.db"
    before = None
    if existing:
        before = _loaded_v1(lake, settings, path)
    with pytest.raises(GoldFailed), early_warehouse_load(lake, settings, "v2") as early:
        _write(lake, "v2", gold_frames(price_bump=1.5))
        assert early.wait_inserted(WAIT)
        raise GoldFailed
    assert _asides(cofre_home) == []
    if not existing:
        assert not path.exists()
        return
    assert _checksums(path) == before
    # Rolled back and closed: the next load takes the write lock at once.
    wh = connect_warehouse(settings)
    try:
        migrate_and_load(wh, gold_frames(price_bump=2.0))
    finally:
        wh.dispose()


def test_a_gold_stage_that_fails_before_writing_every_table_stops_the_thread(lake, cofre_home):
    settings = load_settings()
    with pytest.raises(GoldFailed), early_warehouse_load(lake, settings, "v1") as early:
        frames = gold_frames()
        key = versions.version_key("v1", f"{GOLD_BUILD_ORDER[0]}/part-00000.parquet")
        buffer = io.BytesIO()
        frames[GOLD_BUILD_ORDER[0]].write_parquet(buffer)
        lake.write_bytes(Layer.GOLD, key, buffer.getvalue())
        raise GoldFailed  # the thread waits for the next table: leaving must not hang
    assert not early.wait_inserted(0) or early.error is not None
    assert not (cofre_home / "warehouse.db").exists()
    assert _asides(cofre_home) == []


def test_a_table_changed_after_it_was_read_is_loaded_from_the_lake(
    lake, cofre_home, tmp_path, caplog
):
    settings, path = load_settings(), cofre_home / "warehouse.db"
    changed = {**gold_frames(), "fact_sales": gold_frames(price_bump=1.5)["fact_sales"]}
    with early_warehouse_load(lake, settings, "v1") as early:
        _write(lake, "v1", gold_frames())
        assert early.wait_inserted(WAIT)
        _write(lake, "v1", changed)  # before the seal: the version sealed holds the change
        _publish(lake, "v1")
        with caplog.at_level(logging.WARNING):
            summary = load_warehouse(lake, settings, "v1")
    assert not summary.started_during_gold
    assert "fact_sales's files differ from the manifest's" in caplog.text
    assert _checksums(path) == _ordinary(tmp_path, changed)
    assert _asides(cofre_home) == []


def test_another_version_made_current_is_loaded_instead(lake, cofre_home, tmp_path, caplog):
    settings, path = load_settings(), cofre_home / "warehouse.db"
    with early_warehouse_load(lake, settings, "v1"):
        _write(lake, "v1", gold_frames())
        _write(lake, "v2", gold_frames(price_bump=1.5))
        _publish(lake, "v2")
        with caplog.at_level(logging.WARNING):
            summary = load_warehouse(lake, settings, "v1")
    assert not summary.started_during_gold
    assert summary.gold_version == "v2"
    assert "version v2 is current, not v1" in caplog.text
    assert _checksums(path) == _ordinary(tmp_path, gold_frames(price_bump=1.5))


def test_a_dangling_key_found_at_the_commit_rolls_everything_back(lake, cofre_home):
    settings = load_settings()
    frames = gold_frames()
    frames["fact_sales"] = frames["fact_sales"].with_columns(pl.lit("ghost").alias("product_key"))
    with early_warehouse_load(lake, settings, "v1") as early:
        _write(lake, "v1", frames)
        assert early.wait_inserted(WAIT)
        _publish(lake, "v1")
        with pytest.raises(InvalidSourceData, match="of fact_sales point at no dim_product"):
            load_warehouse(lake, settings, "v1")
    assert not (cofre_home / "warehouse.db").exists()
    assert _asides(cofre_home) == []


def test_it_does_not_begin_where_an_ordinary_load_would_differ(lake, cofre_home, monkeypatch):
    # A warehouse file at an older schema: the stage migrates it first, after gold.
    wh = connect_warehouse(load_settings())
    try:
        migrate(wh, upto=4)
    finally:
        wh.dispose()
    with early_warehouse_load(lake, load_settings(), "v1") as early:
        assert early is None
    # PostgreSQL (never connected to here) and an S3 lake.
    postgres = load_settings(warehouse_url="postgresql://cofre@127.0.0.1:1/cofre")
    with early_warehouse_load(lake, postgres, "v1") as early:
        assert early is None
    s3 = Lake.from_url("s3://cofre-early-test", endpoint_url="http://127.0.0.1:1")
    with early_warehouse_load(s3, load_settings(), "v1") as early:
        assert early is None


def test_a_file_that_appeared_while_gold_ran_is_kept_and_loaded_in_place(
    lake, cofre_home, tmp_path
):
    settings, path = load_settings(), cofre_home / "warehouse.db"
    with early_warehouse_load(lake, settings, "v1") as early:
        assert early is not None and early.aside is not None  # a new file, built aside
        _write(lake, "v1", gold_frames())
        assert early.wait_inserted(WAIT)
        with sqlite3.connect(path) as reader:  # a dashboard connecting creates the file
            reader.execute("CREATE TABLE mine (x)")
        _publish(lake, "v1")
        summary = load_warehouse(lake, settings, "v1")
    assert not summary.started_during_gold  # the aside could not take the name
    assert summary.migrations_applied == [1, 2, 3, 4, 5]
    assert _checksums(path) == _ordinary(tmp_path, gold_frames())
    with sqlite3.connect(path) as reader:
        assert reader.execute("SELECT count(*) FROM mine").fetchone() == (0,)
    assert _asides(cofre_home) == []


_KILLED_CHILD = """
import sys, time
from blocks.lake import Lake
from blocks.settings import load_settings
from tasks.warehouse.early import early_warehouse_load
from tests.tasks.warehouse.gold_frames import gold_frames
from tests.tasks.warehouse.test_warehouse_early import _write

lake = Lake.from_settings(load_settings())
with early_warehouse_load(lake, load_settings(), "v2") as early:
    _write(lake, "v2", gold_frames(price_bump=1.5))
    assert early.wait_inserted(60)
    print("inserted", flush=True)
    time.sleep(600)  # killed here, its transaction open
"""


def test_a_run_killed_while_its_load_is_open_leaves_the_warehouse_as_it_was(lake, cofre_home):
    import os
    import signal
    import subprocess
    import sys

    settings, path = load_settings(), cofre_home / "warehouse.db"
    before = _loaded_v1(lake, settings, path)
    root = Path(__file__).resolve().parents[3]
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_CHILD], cwd=root, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )  # fmt: skip
    try:
        assert child.stdout.readline().strip() == "inserted"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    assert _checksums(path) == before  # the open transaction never reached the file
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    wh = connect_warehouse(settings)
    try:
        migrate_and_load(wh, gold_frames(price_bump=2.0))  # the next load takes the lock
    finally:
        wh.dispose()
    assert _checksums(path) != before


def _assert_loaded_from_the_lake(summary, log: str, path: Path, tmp_path: Path) -> None:
    """The early load failed, was rolled back, and the stage loaded the version from the lake."""
    assert not summary.started_during_gold
    assert "was rolled back (it failed" in log
    assert _checksums(path) == _ordinary(tmp_path, gold_frames())


def test_a_table_the_thread_cannot_read_is_loaded_from_the_lake(lake, cofre_home, tmp_path, caplog):
    settings, path = load_settings(), cofre_home / "warehouse.db"
    first = GOLD_BUILD_ORDER[0]  # the first table the thread reads
    with early_warehouse_load(lake, settings, "v1") as early:
        key = versions.version_key("v1", f"{first}/part-00000.parquet")
        lake.write_bytes(Layer.GOLD, key, b"not parquet")  # malformed when the thread reads it
        assert early.wait_inserted(WAIT)  # the thread has ended
        assert early.error is not None
        _write(lake, "v1", gold_frames())  # the sealed version is whole
        _publish(lake, "v1")
        with caplog.at_level(logging.WARNING):
            summary = load_warehouse(lake, settings, "v1")
    _assert_loaded_from_the_lake(summary, caplog.text, path, tmp_path)
    assert _asides(cofre_home) == []


def test_an_insert_that_fails_stops_the_reading_ahead_and_the_stage_loads_from_the_lake(
    lake, cofre_home, tmp_path, caplog, monkeypatch
):
    """The thread that reads ahead waits on a bounded queue: when the inserts fail it must
    end too (nothing hangs), and the stage loads the published version from the lake."""
    from tasks.warehouse import early as early_module
    from tasks.warehouse.sqlite_load import SqliteLoad

    monkeypatch.setattr(early_module, "INSERT_ROWS", 1)  # many slices: the queue fills
    inserted = []

    def failing_insert(self, name, frame):
        inserted.append(name)
        raise sqlite3.OperationalError("disk I/O error")

    settings, path = load_settings(), cofre_home / "warehouse.db"
    with early_warehouse_load(lake, settings, "v1") as early:
        with monkeypatch.context() as patch:
            patch.setattr(SqliteLoad, "insert", failing_insert)
            _write(lake, "v1", gold_frames())
            assert early.wait_inserted(WAIT)  # the thread has ended
        assert isinstance(early.error, sqlite3.OperationalError)
        for reader in [t for t in threading.enumerate() if t.name == "warehouse-early-read"]:
            reader.join(WAIT)
            assert not reader.is_alive()
        assert inserted == [GOLD_BUILD_ORDER[0]]  # the first slice of the first table
        _publish(lake, "v1")
        with caplog.at_level(logging.WARNING):
            summary = load_warehouse(lake, settings, "v1")
    _assert_loaded_from_the_lake(summary, caplog.text, path, tmp_path)
    assert _asides(cofre_home) == []
