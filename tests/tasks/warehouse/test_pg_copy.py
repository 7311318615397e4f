"""The binary COPY encoder against a real PostgreSQL 15: byte for byte what the server writes."""

from __future__ import annotations

import math
import uuid
from datetime import date, datetime

import polars as pl
import psycopg
import pytest
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Double,
    Integer,
    Numeric,
    SmallInteger,
    Text,
)

from blocks.errors import ConfigurationError, InvalidSourceData
from tasks.warehouse.pg_copy import SIGNATURE, TRAILER, binary_copy_stream, encode_rows

TYPES = {
    "id": Integer(), "big": BigInteger(), "small": SmallInteger(), "amount": Double(),
    "flag": Boolean(), "day": Date(), "at": DateTime(), "label": Text(),
}  # fmt: skip
DDL = (
    "id integer, big bigint, small smallint, amount double precision, flag boolean, "
    "day date, at timestamp, label text"
)

# Edges of every type: extremes, NULLs, dates before 1970 and 2000, microseconds,
# non-ASCII text, empty strings, control characters, a literal "\N", NaN and infinities.
ROWS = {
    "id": [1, -(2**31), 2**31 - 1, None, 0, 7],
    "big": [2**62, -(2**63), None, 0, 1, -1],
    "small": [1, -(2**15), 2**15 - 1, None, 0, 3],
    "amount": [1.5, -0.0, math.inf, -math.inf, None, 1e-300],
    "flag": [True, False, None, True, False, True],
    "day": [date(2000, 1, 1), date(1969, 7, 20), date(1899, 12, 31), None,
            date(2100, 2, 28), date(2024, 2, 29)],
    "at": [datetime(2000, 1, 1), datetime(2017, 10, 2, 10, 56, 33, 123456),
           datetime(1970, 1, 1, 0, 0, 0, 1), datetime(1960, 6, 1, 23, 59, 59), None,
           datetime(2038, 1, 19, 3, 14, 8)],
    "label": ["São Paulo – SP", "", None, "tab\there\nline\rcr\\back", "\\N", "cama_mesa 🛏"],
}  # fmt: skip


def _frame() -> pl.DataFrame:
    frame = pl.DataFrame(ROWS, schema_overrides={"day": pl.Date, "at": pl.Datetime("us")})
    return frame.with_columns(pl.col("id").cast(pl.Int64), pl.col("small").cast(pl.Int64))


@pytest.fixture
def pg(postgres, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", postgres.password)
    database = postgres.create_database(f"copy_{uuid.uuid4().hex[:8]}")
    with psycopg.connect(postgres.url(database, with_password=False)) as conn:
        conn.execute(f"CREATE TABLE t ({DDL})")
        yield conn


def _copy_in(conn, frame: pl.DataFrame, chunk_rows: int = 16_384) -> None:
    statement = f"COPY t ({', '.join(frame.columns)}) FROM STDIN (FORMAT binary)"
    chunks = binary_copy_stream(frame, list(TYPES.values()), table="t", chunk_rows=chunk_rows)
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for chunk in chunks:
            copy.write(chunk)


def _copy_out(conn) -> bytes:
    with conn.cursor() as cursor, cursor.copy("COPY t TO STDOUT (FORMAT binary)") as copy:
        return b"".join(bytes(block) for block in copy)


def test_encoding_is_byte_for_byte_what_postgres_writes(pg):
    frame = _frame()
    _copy_in(pg, frame)
    expected = SIGNATURE + bytes(encode_rows(frame, list(TYPES.values()))) + TRAILER
    assert _copy_out(pg) == expected


def test_values_read_back_exactly(pg):
    _copy_in(pg, _frame(), chunk_rows=4)  # two chunks, one of them short
    stored = pg.execute(f"SELECT {', '.join(TYPES)} FROM t ORDER BY ctid").fetchall()
    for column_index, name in enumerate(TYPES):
        got = [row[column_index] for row in stored]
        if name == "amount":  # -0.0 == 0.0 and inf compare fine; check the sign too
            assert got == ROWS[name]
            assert math.copysign(1, got[1]) == -1
        else:
            assert got == ROWS[name], name


def test_chunks_concatenate_to_the_unchunked_encoding():
    frame = pl.concat([_frame()] * 5)
    types = list(TYPES.values())
    whole = b"".join(bytes(c) for c in binary_copy_stream(frame, types, table="t"))
    small = b"".join(bytes(c) for c in binary_copy_stream(frame, types, table="t", chunk_rows=7))
    assert whole == small
    assert whole.startswith(SIGNATURE) and whole.endswith(TRAILER)


def test_a_value_beyond_its_column_type_names_the_table_and_rows():
    frame = pl.DataFrame({"id": [1, 2, 2**31]})
    with pytest.raises(
        InvalidSourceData,
        match=r"table fact_x, row 3, column id: 2147483648 does not fit .*INTEGER.*widen",
    ):
        list(binary_copy_stream(frame, [Integer()], table="fact_x", chunk_rows=2))


def test_an_unsupported_sql_type_names_the_column():
    frame = pl.DataFrame({"price": [1.0]})
    with pytest.raises(
        ConfigurationError,
        match=r"Table t, column price: no binary COPY encoding for SQL type NUMERIC\(12, 2\)",
    ):
        list(binary_copy_stream(frame, [Numeric(12, 2)], table="t"))


def test_the_warehouse_schema_uses_only_encodable_types():
    from tasks.warehouse.schema import METADATA

    for table in METADATA.sorted_tables:
        frame = pl.DataFrame({c.name: [None] for c in table.columns})
        list(binary_copy_stream(frame, [c.type for c in table.columns], table=table.name))


def test_a_fraction_is_never_truncated_into_an_integer_column():
    """polars casts 2.7 to 2 silently; the encoder refuses, naming the row."""
    frame = pl.DataFrame({"items": [1.0, 2.0, 2.7, None]})
    with pytest.raises(InvalidSourceData, match=r"row 3, column items: 2.7 does not fit"):
        list(binary_copy_stream(frame, [Integer()], table="t"))
    whole = pl.DataFrame({"items": [1.0, 2.0, None]})
    assert len(list(binary_copy_stream(whole, [Integer()], table="t"))) == 3
