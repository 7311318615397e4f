"""A new SQLite warehouse is built in a file of its own and published whole: nobody sees it
half-built, it holds what a load in place holds, a failed build leaves nothing, a file that
appeared meanwhile is loaded in place, and an aside whose process died is cleared."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from blocks.errors import InvalidSourceData
from blocks.settings import load_settings
from tasks.warehouse.connection import connect_warehouse
from tasks.warehouse.load import load_tables
from tasks.warehouse.new_file import aside_for, publish
from tasks.warehouse.run import migrate_and_load
from tasks.warehouse.schema import METADATA, migrate
from tests.tasks.warehouse.gold_frames import gold_frames
from tests.tasks.warehouse.table_checks import table_checksum
from validation.catalog import GOLD_TABLES


def _warehouse(home: Path):
    return connect_warehouse(load_settings(home=str(home)))


def _checksums(wh) -> dict:
    return {t: table_checksum(wh, METADATA.tables[f"dw.{t}"]) for t in GOLD_TABLES}


def _journal_mode(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA journal_mode").fetchone()[0]


def test_a_new_warehouse_appears_only_loaded_and_holds_what_a_load_in_place_holds(tmp_path):
    new, existing = _warehouse(tmp_path / "new"), _warehouse(tmp_path / "existing")
    path = tmp_path / "new" / "warehouse.db"
    try:
        migrate(existing)  # the file exists: loaded in place, as every later load
        assert aside_for(existing) is None
        in_place = migrate_and_load(existing, gold_frames())

        aside = aside_for(new)
        assert aside is not None and not path.exists()
        applied = migrate(aside)
        load_tables(aside, METADATA, gold_frames(), new_file=True)
        assert not path.exists()  # built, not yet published: readers find no warehouse
        assert publish(aside, new)
        assert sorted(p.name for p in path.parent.iterdir()) == ["warehouse.db"]
        assert _journal_mode(path) == "wal"  # readers keep reading during later loads
        assert _checksums(new) == _checksums(existing)
        assert applied == [1, 2, 3, 4, 5]
        assert in_place == ([], {t: f.height for t, f in gold_frames().items()})
    finally:
        new.dispose()
        existing.dispose()


def test_the_first_load_of_a_new_file_goes_aside_and_a_reload_in_place(tmp_path):
    wh = _warehouse(tmp_path)
    try:
        applied, rows = migrate_and_load(wh, gold_frames())
        assert applied == [1, 2, 3, 4, 5]
        assert rows == {t: f.height for t, f in gold_frames().items()}
        first = _checksums(wh)
        bumped = gold_frames(price_bump=1.5)
        assert migrate_and_load(wh, bumped)[0] == []  # in place: nothing left to migrate
        assert _checksums(wh) != first
        assert not [p.name for p in tmp_path.iterdir() if ".new-" in p.name]
    finally:
        wh.dispose()


def test_a_failed_first_load_leaves_no_warehouse_file_and_no_aside(tmp_path):
    frames = gold_frames()
    frames["fact_sales"] = frames["fact_sales"].with_columns(pl.lit("ghost").alias("product_key"))
    wh = _warehouse(tmp_path)
    try:
        with pytest.raises(InvalidSourceData, match="of fact_sales point at no dim_product"):
            migrate_and_load(wh, frames)
    finally:
        wh.dispose()
    assert not [p.name for p in tmp_path.iterdir() if "warehouse" in p.name]


def test_a_file_that_appeared_while_building_is_kept_and_loaded_in_place(tmp_path):
    wh = _warehouse(tmp_path)
    path = tmp_path / "warehouse.db"
    try:
        aside = aside_for(wh)
        migrate(aside)
        load_tables(aside, METADATA, gold_frames(), new_file=True)
        with sqlite3.connect(path) as reader:  # a dashboard connecting creates the file
            reader.execute("CREATE TABLE mine (x)")
        assert not publish(aside, wh)
        assert sorted(p.name for p in tmp_path.iterdir() if "warehouse" in p.name) == [
            "warehouse.db"
        ]
        applied, _ = migrate_and_load(wh, gold_frames())  # in place, the reader's table kept
        assert applied == [1, 2, 3, 4, 5]
        with sqlite3.connect(path) as reader:
            assert reader.execute("SELECT count(*) FROM mine").fetchone() == (0,)
            assert reader.execute("SELECT count(*) FROM fact_sales").fetchone() == (
                gold_frames()["fact_sales"].height,
            )
    finally:
        wh.dispose()


def test_an_aside_whose_process_died_is_removed_and_a_live_ones_kept(tmp_path):
    import os

    from tasks.warehouse.new_file import _HOST

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
    gone = finished.stdout.strip()
    dead = tmp_path / f".warehouse.db.new-{_HOST}-{gone}-0123abcd"
    live = tmp_path / f".warehouse.db.new-{_HOST}-{os.getpid()}-4567cdef"
    elsewhere = tmp_path / f".warehouse.db.new-0000beef-{gone}-89abcdef"  # another machine's
    for leftover in (dead, live, elsewhere):
        leftover.write_bytes(b"half a warehouse")
    wh = _warehouse(tmp_path)
    try:
        aside = aside_for(wh)
        assert aside is not None
        aside.dispose()
    finally:
        wh.dispose()
    assert not dead.exists()
    assert live.exists()
    assert elsewhere.exists()


def _fd_paths() -> set[str]:
    fds = Path("/proc/self/fd")
    paths = set()
    for fd in fds.iterdir():
        with contextlib.suppress(OSError):  # a descriptor closed meanwhile
            paths.add(str(fd.readlink()))
    return paths


def test_a_new_file_is_synced_while_it_loads_and_no_descriptor_outlives_the_load(
    tmp_path, monkeypatch
):
    import os
    import threading

    import tasks.warehouse.new_file as new_file

    synced = []
    real_fsync = os.fsync

    def spy(fd):
        synced.append((threading.current_thread().name, os.readlink(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    monkeypatch.setattr(new_file, "WRITE_BACK_SECONDS", 0.001)
    monkeypatch.setattr(os, "fsync", spy)
    wh = _warehouse(tmp_path)
    try:
        migrate_and_load(wh, gold_frames())
    finally:
        wh.dispose()
    during = [path for thread, path in synced if thread == "warehouse-write-back"]
    assert during and all(".warehouse.db.new-" in path for path in during)
    assert not [p for p in _fd_paths() if ".new-" in p]  # closed, once the load was done
    assert (tmp_path / "warehouse.db").exists()


def test_a_sync_that_fails_while_loading_fails_the_load_and_publishes_nothing(
    tmp_path, monkeypatch
):
    import errno
    import os
    import threading

    import tasks.warehouse.new_file as new_file

    real_fsync = os.fsync

    def failing(fd):
        if threading.current_thread().name == "warehouse-write-back":
            raise OSError(errno.EIO, "Input/output error")
        return real_fsync(fd)

    monkeypatch.setattr(new_file, "WRITE_BACK_SECONDS", 0.001)
    monkeypatch.setattr(os, "fsync", failing)
    wh = _warehouse(tmp_path)
    try:
        with pytest.raises(OSError, match=r"Writing the new warehouse file .* failed") as caught:
            migrate_and_load(wh, gold_frames())
    finally:
        wh.dispose()
    assert caught.value.errno == errno.EIO
    assert not [p.name for p in tmp_path.iterdir() if "warehouse" in p.name]
    assert not [p for p in _fd_paths() if ".new-" in p]
