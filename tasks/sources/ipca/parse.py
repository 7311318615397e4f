"""IPCA payloads (BCB SGS series 433) as a typed frame: the contract silver reads bronze with.

An SGS response is `[{"data": "dd/mm/yyyy", "valor": "x.xx"}, ...]`, one record per month.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import polars as pl

from blocks.errors import InvalidSourceData

SOURCE, DATASET = "bcb_sgs", "ipca_433"
SOURCE_NAME = f"{SOURCE}/{DATASET}"
SCHEMA = {"month": pl.Date, "pct_change": pl.Float64}


def parse_ipca(payload: bytes, source_name: str = SOURCE_NAME) -> pl.DataFrame:
    """Parse an SGS response (`[{"data": "dd/mm/yyyy", "valor": "x.xx"}, ...]`).

    Returns one row per month, sorted: month (Date, first day of the month) and pct_change
    (Float64, the month's IPCA in %). Raises `InvalidSourceData` naming `source_name`, the
    record and the field when the payload is not JSON (e.g. an HTML error page), is not a
    non-empty list, or a record lacks `data`/`valor`, has a bad date or a non-numeric valor.
    """
    try:
        records = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        start = payload[:60].decode("utf-8", "replace").strip()
        raise InvalidSourceData(
            f"{source_name}: the payload is not JSON (starts {start!r}); expected a list of "
            '{"data", "valor"} records.'
        ) from None
    if not isinstance(records, list):
        raise InvalidSourceData(
            f"{source_name}: expected a JSON list of records, got {type(records).__name__}."
        )
    if not records:
        raise InvalidSourceData(f"{source_name}: the payload is an empty list: no months.")
    months = [record_month(record, i, source_name) for i, record in enumerate(records)]
    changes = [_valor(record, i, source_name) for i, record in enumerate(records)]
    frame = pl.DataFrame({"month": months, "pct_change": changes}, schema=SCHEMA)
    return frame.unique("month", keep="last").sort("month")


def record_month(record: Any, position: int, source_name: str) -> date:
    """The month (its first day) of the SGS record at `position`; raises `InvalidSourceData`
    when the record lacks `data` or it is not a dd/mm/yyyy date."""
    value = _field(record, "data", position, source_name)
    try:
        return datetime.strptime(value, "%d/%m/%Y").date().replace(day=1)
    except (TypeError, ValueError):
        raise InvalidSourceData(
            f"{source_name}: record {position} field 'data' is not a dd/mm/yyyy date: {value!r}."
        ) from None


def _field(record: Any, name: str, position: int, source_name: str) -> Any:
    if not isinstance(record, dict) or name not in record:
        raise InvalidSourceData(f"{source_name}: record {position} lacks field '{name}'.")
    return record[name]


def _valor(record: Any, position: int, source_name: str) -> float:
    value = _field(record, "valor", position, source_name)
    try:
        number = float(str(value).strip().replace(",", "."))
    except ValueError:
        number = float("nan")
    if number != number or number in (float("inf"), float("-inf")):
        raise InvalidSourceData(
            f"{source_name}: record {position} field 'valor' is not a number: {value!r}."
        )
    return number


def accumulated_index(frame: pl.DataFrame, base: float = 100.0) -> pl.DataFrame:
    """`frame` (month, pct_change) sorted by month, plus `index` (Float64): `base` at the
    month before the first, compounded month by month (index_t = base * Π(1 + pct/100))."""
    return frame.sort("month").with_columns(
        (base * (1 + pl.col("pct_change") / 100).cum_prod()).alias("index")
    )
