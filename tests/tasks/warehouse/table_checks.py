"""Read-only checks of what a load left in the warehouse: schema version, row counts, content
checksums (tests and benchmarks compare them before and after a change)."""

from __future__ import annotations

import hashlib
from datetime import date, datetime

from sqlalchemy import MetaData, Table, inspect, select, text

from tasks.warehouse.connection import Warehouse
from tasks.warehouse.schema import METADATA, SCHEMA


def current_version(warehouse: Warehouse) -> int:
    """The newest schema migration applied, 0 on a warehouse never migrated."""
    with warehouse.engine.connect() as conn:
        schema = SCHEMA if warehouse.dialect == "postgresql" else None
        if not inspect(conn).has_table("schema_version", schema=schema):
            return 0
        version_table = METADATA.tables[f"{SCHEMA}.schema_version"]
        return (
            conn.execute(
                select(version_table.c.version).order_by(version_table.c.version.desc())
            ).scalar()
            or 0
        )


def _canonical(value) -> str:
    if isinstance(value, float):
        return f"{value:.6f}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return repr(value)


def table_checksum(warehouse: Warehouse, table: Table) -> tuple[int, str]:
    """(row count, sha256 of every row in primary-key order): equal content, equal checksum."""
    order = list(table.primary_key.columns) or list(table.columns)
    digest, count = hashlib.sha256(), 0
    with warehouse.engine.connect() as conn:
        for row in conn.execute(select(table).order_by(*order)):
            digest.update("\x1f".join(_canonical(v) for v in row).encode())
            digest.update(b"\x1e")
            count += 1
    return count, digest.hexdigest()


def table_counts(warehouse: Warehouse, metadata: MetaData) -> dict[str, int]:
    """{table: rows} of every table in `metadata`."""
    with warehouse.engine.connect() as conn:
        return {
            t.name: conn.execute(select(text("count(*)")).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
        }
