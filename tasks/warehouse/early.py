"""The warehouse load, started while the gold stage writes its version.

`python -m flows.full_pipeline` runs gold, then the warehouse. The SQLite load is one core's
work (10x: about 6 s), and the gold stage leaves a core idle for part of its own. With a
local lake and the embedded SQLite warehouse, the load therefore starts with gold: a thread
(`EarlyLoad`) opens the load's transaction, then inserts each gold table as soon as the gold
job has written it into the new version (`gold/_versions/<run_id>/<table>/`), decoding the
very bytes it hashed. Gold builds its facts first (`GOLD_BUILD_ORDER`), the longest inserts;
a second thread reads, decodes and converts each table ahead of the inserts, so SQLite's
inserts, one core's work, run back to back. Gold's seal, gate and publication run meanwhile.

Nothing is committed before the warehouse stage has checked what was inserted against the
version gold made current (`tasks/warehouse/run.py`): the pointer and the manifest it names are
read and checked as every load reads them (tasks/layers/gold.py), and each table must be the
manifest's: the same part files with the same sha256 and size, the same rows, no other part.
Only then are the lineage row, the indexes and the foreign-key check added and the load
committed, through the same steps as any SQLite load (`SqliteLoad`). Anything else (another
version is current, a file changed after the thread read it, the thread failed or found the
warehouse busy) rolls the early load back, and the stage loads the current version from the
lake as before. A gold stage that fails or is interrupted rolls it back too: the warehouse
never holds rows of a version that was not gated and published.

It runs only where its result is exactly the ordinary load's: both stages in this process and
this run (not a resumed run that kept gold, not a stage run alone, not a deployment of the
warehouse flow), a local lake (a table appears whole, by rename), and a SQLite warehouse
that is new (built aside, tasks/warehouse/new_file.py) or already at the latest schema (an
older one is migrated by the stage, after gold). On an existing warehouse file the load's
write lock is held from gold's start: readers (WAL) keep reading the previous tables.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from blocks.errors import InvalidSourceData
from blocks.lake import Lake
from blocks.settings import CofreSettings
from tasks.layers.gold import differs_from_manifest, read_table_as_listed, version_parts
from tasks.warehouse.connection import Warehouse, connect_warehouse
from tasks.warehouse.load import LOCK_TIMEOUT_SECONDS, frame_for, sqlite_file
from tasks.warehouse.new_file import aside_for, discard, publish, written_back
from tasks.warehouse.schema import LATEST, LINEAGE_TABLE, METADATA, migrate, schema_version
from tasks.warehouse.sqlite_load import SqliteLoad, sqlite_ready
from validation.catalog import GOLD_BUILD_ORDER, GOLD_TABLES

POLL_SECONDS = 0.05  # how often the thread looks for the next table gold has written
# Memory: the load runs beside gold's own peak, so it keeps little of its own. SQLite's page
# cache (KiB) is small: rows arrive in key order and only three small indexes are rebuilt.
# A table's rows go in by slices, each converted to SQLite's forms (and to Arrow) on its own.
CACHE_KIB = 64 * 1024
INSERT_ROWS = 200_000
READ_AHEAD = 2  # slices converted ahead of the inserts
_READ = object()  # every table was read

_started: dict[str, EarlyLoad] = {}  # run id -> the early load this process started for it
_started_lock = threading.Lock()


@dataclass
class TableRead:
    files: list[dict]  # as the manifest lists them: key, sha256, bytes
    rows: int


@dataclass
class Committed:
    published: bool  # False: a new file could not take the warehouse's name (load in place)
    migrations_applied: list[int] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)


class EarlyLoad:
    """The load thread for gold version `version` into the SQLite file at `path`; `aside`:
    the new file being built beside it, or None to load the existing file in place."""

    def __init__(self, lake: Lake, version: str, target: Warehouse, aside: Warehouse | None):
        self.lake, self.version, self.target, self.aside = lake, version, target, aside
        self.path = sqlite_file(target)
        self.read: dict[str, TableRead] = {}
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._inserted = threading.Event()  # every gold table inserted, or the thread ended
        self._commands: queue.Queue[pl.DataFrame | None] = queue.Queue()
        self._outcome: queue.Queue[Committed | BaseException] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="warehouse-early", daemon=True)

    # -- the thread ------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            outcome: Committed | BaseException = self._load()
        except BaseException as exc:  # kept for the stage, which then loads as before
            self.error = outcome = exc
        finally:
            self._inserted.set()
            if self.aside is not None:
                discard(self.aside)  # published or not, the aside name goes
        self._outcome.put(outcome)

    def _load(self) -> Committed:
        committed = Committed(published=True)
        tables = [t for t in METADATA.sorted_tables if t.name in (*GOLD_TABLES, LINEAGE_TABLE)]
        with ExitStack() as stack:
            warehouse = self.aside or self.target
            if self.aside is not None:
                committed.migrations_applied = migrate(self.aside)
                stack.enter_context(written_back(self.aside))
            warehouse.dispose()  # no connection of the other SQLite copy stays open
            timeout_ms = int(LOCK_TIMEOUT_SECONDS * 1000)
            new_file = self.aside is not None
            load = stack.enter_context(
                SqliteLoad(sqlite_file(warehouse), tables, timeout_ms, new_file, CACHE_KIB)
            )
            by_name = {t.name: t for t in tables}
            ahead = stack.enter_context(self._reading_ahead(by_name))
            while (item := ahead.get()) is not _READ:
                if isinstance(item, BaseException):
                    raise item
                name, frame, rows = item
                if frame is not None:  # a table's first item: its whole frame
                    load.check_keys(name, frame)
                    committed.rows[name] = frame.height
                else:  # in order: the same rowids
                    load.insert(name, rows)
                del item, frame, rows
            # The indexes and the key check while gold still gates: a dangling key is
            # raised as an ordinary load raises it, by the commit the stage asks for.
            invalid = None
            try:
                load.prepare()
            except InvalidSourceData as exc:
                invalid = exc
            self._inserted.set()
            lineage = self._commands.get()
            if lineage is None:
                raise _Stopped
            if invalid is not None:
                raise invalid
            lineage = frame_for(by_name[LINEAGE_TABLE], lineage)
            load.check_keys(LINEAGE_TABLE, lineage)
            load.insert(LINEAGE_TABLE, sqlite_ready(lineage))
            committed.rows[LINEAGE_TABLE] = lineage.height
            load.commit()
        if self.aside is not None:
            committed.published = publish(self.aside, self.target)
        return committed

    @contextlib.contextmanager
    def _reading_ahead(self, by_name: dict) -> Iterator[queue.Queue]:
        """A queue of what the inserts need, filled by a thread of its own, so that reading,
        decoding and converting overlap the inserts (SQLite's, one core's work): for each
        table in `GOLD_BUILD_ORDER` once gold has written it, (name, frame, None), then
        (name, None, rows) for each slice of at most INSERT_ROWS rows in SQLite's forms, as
        the Arrow table the driver binds (`sqlite_ready`; 10x `fact_sales`: 0.4 CPU-s); then
        `_READ`. An error is queued in place of the next item; a stop ends it with `_Stopped`.
        At most READ_AHEAD slices wait (each holds its table's columns alive)."""
        ahead: queue.Queue = queue.Queue(READ_AHEAD)
        quit_reading = threading.Event()

        def put(item) -> None:
            while not quit_reading.is_set():
                with contextlib.suppress(queue.Full):
                    ahead.put(item, timeout=POLL_SECONDS)
                    return
            raise _Stopped

        def read() -> None:
            try:
                for name in GOLD_BUILD_ORDER:  # as gold writes them
                    frame = self._next_table(name)
                    if frame is None:
                        raise _Stopped
                    frame = frame_for(by_name[name], frame)
                    put((name, frame, None))
                    for rows in frame.iter_slices(INSERT_ROWS):  # the driver's Arrow too
                        put((name, None, sqlite_ready(rows)))
                    del frame
                put(_READ)
            except BaseException as exc:  # the inserts raise it
                with contextlib.suppress(_Stopped):
                    put(exc)

        reader = threading.Thread(target=read, name="warehouse-early-read", daemon=True)
        reader.start()
        try:
            yield ahead
        finally:
            quit_reading.set()
            reader.join()

    def _next_table(self, name: str) -> pl.DataFrame | None:
        """Table `name` of the version once gold has written it (None: stopped)."""
        while not version_parts(self.lake, self.version, name):  # a part appears whole
            if self._stop.wait(POLL_SECONDS):
                return None
        if self._stop.is_set():
            return None
        files, frame = read_table_as_listed(self.lake, self.version, name)
        self.read[name] = TableRead(files, frame.height)
        return frame

    # -- the stage's side ------------------------------------------------------------------
    def loads_into(self, warehouse: Warehouse) -> bool:
        """Whether `warehouse` is the SQLite file this load writes."""
        if warehouse.dialect != "sqlite":
            return False
        return Path(sqlite_file(warehouse)).resolve() == Path(self.path).resolve()

    def difference(self, manifest: dict) -> str | None:
        """Why what the thread inserted is not `manifest`'s version (None: it is). Waits for
        every table to be inserted."""
        if manifest.get("version") != self.version:
            return f"version {manifest.get('version')} is current, not {self.version}"
        self.wait_inserted()  # the version is sealed: every table the thread waits for exists
        if self.error is not None:
            return f"it failed ({type(self.error).__name__}: {self.error})"
        for name in GOLD_TABLES:
            read = self.read[name]
            why = differs_from_manifest(self.lake, manifest, name, read.files, read.rows)
            if why:
                return why
        return None

    def wait_inserted(self, timeout: float | None = None) -> bool:
        """Wait until every gold table is inserted or the thread has ended (False: timeout)."""
        return self._inserted.wait(timeout)

    def commit(self, lineage: pl.DataFrame) -> Committed:
        """Add the lineage row, rebuild the indexes, check the keys, COMMIT (and publish a new
        file). Raises what the commit raised (a dangling key: `InvalidSourceData`)."""
        self._commands.put(lineage)
        outcome = self._outcome.get()
        self._thread.join()
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def abandon(self) -> None:
        """Stop the thread and roll its load back; returns once its connection is closed (at
        once when it has already ended)."""
        self._stop.set()
        self._commands.put(None)
        self._thread.join()

    def start(self) -> None:
        self._thread.start()


class _Stopped(Exception):
    """The early load was abandoned: it rolls back."""


def _start(lake: Lake, settings: CofreSettings, run_id: str) -> EarlyLoad | None:
    """An early load for this run, started; None where it does not apply (module docstring)
    or the warehouse cannot be opened now: the stage then loads, or says why it cannot."""
    if not lake.is_local or settings.warehouse_block:  # a block: PostgreSQL
        return None
    if settings.warehouse_url and not settings.warehouse_url.startswith("sqlite"):
        return None
    target = None
    try:
        target = connect_warehouse(settings)
        if target.dialect != "sqlite":
            target.dispose()
            return None
        aside = aside_for(target)
        if aside is None and schema_version(target) != LATEST:
            target.dispose()  # the stage migrates it first, after gold
            return None
    except Exception:  # e.g. no file can be opened there: the warehouse stage reports it
        if target is not None:
            target.dispose()
        return None
    early = EarlyLoad(lake, run_id, target, aside)
    early.start()
    return early


@contextlib.contextmanager
def early_warehouse_load(
    lake: Lake, settings: CofreSettings, run_id: str
) -> Iterator[EarlyLoad | None]:
    """Around the gold and warehouse stages of one run: the warehouse's load starts now (None
    where it does not apply), is committed by the warehouse stage (`take_early_load`), or is
    rolled back on leaving."""
    early = _start(lake, settings, run_id)
    if early is None:
        yield None
        return
    with _started_lock:
        _started[run_id] = early
    try:
        yield early
    finally:
        with _started_lock:
            _started.pop(run_id, None)
        early.abandon()


def take_early_load(run_id: str) -> EarlyLoad | None:
    """The early load this process started for `run_id`, now the caller's to commit or
    abandon; None when there is none."""
    with _started_lock:
        return _started.pop(run_id, None)
