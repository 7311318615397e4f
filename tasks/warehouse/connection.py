"""The warehouse connection: PostgreSQL or the embedded SQLite file, same schema.

Connection precedence: the encrypted PostgreSQL block named by `COFRE_WAREHOUSE_BLOCK` (a
warehouse URL may only repeat its host, port and database) > `--warehouse URL` >
`COFRE_WAREHOUSE_URL` (a URL without a password) > `$COFRE_HOME/warehouse.db`. Where a
password may be sent is decided first, before connecting: tasks/warehouse/authority.py.
This module is the warehouse's read side with `tasks/warehouse/schema.py`: the dashboard uses
both and nothing of the load (`tasks/warehouse/load.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from blocks.errors import WarehouseUnreachable
from blocks.runtime.parameter_guard import refuse_password_in_url
from blocks.runtime.redaction import redact
from blocks.settings import CofreSettings
from tasks.warehouse.authority import warehouse_target
from validation.catalog import WAREHOUSE_SCHEMA


@dataclass
class Warehouse:
    engine: Engine
    description: str  # safe to print: never holds a password

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()


NEW_FILE_PAGE_SIZE = 65536  # bytes: SQLite's largest page


def sqlite_engine(url: str) -> Engine:
    engine = create_engine(
        url, execution_options={"schema_translate_map": {WAREHOUSE_SCHEMA: None}}
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # A new file only (an existing one keeps its page size; WAL forbids changing it):
        # 64 KiB pages cut the 10x load's CPU by about 14% (fewer pages to fill, sort into,
        # log and checkpoint), the file's size by 1.5%.
        cursor.execute(f"PRAGMA page_size={NEW_FILE_PAGE_SIZE}")
        cursor.execute("PRAGMA journal_mode=WAL")  # readers keep reading during a load
        # WAL + NORMAL: a crash never corrupts or half-applies a load; a power cut may lose
        # the last committed load (re-run it). Saves an fsync of the whole WAL per commit.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB: index pages stay in memory
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:  # pysqlite's implicit transactions are not DDL-safe
        connection.exec_driver_sql("BEGIN")

    return engine


def connect_warehouse(settings: CofreSettings, url: str | None = None) -> Warehouse:
    """The configured warehouse (see the module docstring for the precedence).

    The settings' warehouse passes the sealed authority rules first (a flag or parameter may
    not send a password elsewhere: tasks/warehouse/authority.py); a `url` given by code is
    its caller's own choice."""
    if url is None:
        target = warehouse_target(settings)  # RedirectRefused before anything connects
        if target.block is not None:
            block = target.block
            engine = block.sqlalchemy_connector().get_engine()
            return _reachable(
                Warehouse(engine, f"{block.safe_url()} (block {block.label})"),
                f"the block {settings.warehouse_block!r} (COFRE_WAREHOUSE_BLOCK)",
            )
        url = target.url
    if url:
        refuse_password_in_url(url, "warehouse URL")  # userinfo or ?password= (libpq)
        parsed = make_url(url)
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.drivername.startswith("sqlite"):
            return Warehouse(sqlite_engine(parsed.render_as_string()), str(parsed))
        return _reachable(
            Warehouse(create_engine(parsed), parsed.render_as_string(hide_password=True)),
            "the URL (--warehouse or COFRE_WAREHOUSE_URL)",
        )
    path = (settings.home / "warehouse.db").resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return Warehouse(sqlite_engine(f"sqlite:///{path}"), f"sqlite:///{path}")


def _reachable(warehouse: Warehouse, configured_by: str) -> Warehouse:
    """Connect once now, so a server that is down or a rejected login is one clear error
    before any table is touched, not a driver traceback in the middle of a load."""
    try:
        with warehouse.engine.connect():
            pass
    except OperationalError as exc:
        warehouse.dispose()
        cause = redact(str(exc.orig or exc).strip().splitlines()[0])
        raise WarehouseUnreachable(
            f"Cannot connect to the warehouse {warehouse.description}: {cause}. Check that "
            f"PostgreSQL is running and accepts this login, or fix {configured_by}."
        ) from None
    return warehouse
