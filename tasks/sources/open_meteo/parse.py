"""Open-Meteo archive payloads as a typed daily frame: the contract silver reads bronze with.

A response holds `{"daily": {"time": [...], "<field>": [...], ...}}`, one list entry per day;
`DAILY_FIELDS` are the fields requested and the columns they become.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import polars as pl

from blocks.errors import InvalidSourceData

SOURCE, DATASET = "open_meteo", "daily"
SOURCE_NAME = f"{SOURCE}/{DATASET}"
DAILY_FIELDS = {
    "temperature_2m_max": "temperature_max",
    "temperature_2m_min": "temperature_min",
    "temperature_2m_mean": "temperature_mean",
    "precipitation_sum": "precipitation_sum",
}
SCHEMA = {
    "state": pl.String,
    "capital": pl.String,
    "date": pl.Date,
    **{column: pl.Float64 for column in DAILY_FIELDS.values()},
}
TEMPERATURE_COLUMNS = ["temperature_max", "temperature_min"]  # checked against the range


def parse_open_meteo(payload: bytes, state: str, capital: str) -> pl.DataFrame:
    """Parse an Open-Meteo archive response into one row per day.

    Columns: state, capital (String), date (Date), temperature_max, temperature_min,
    temperature_mean (°C), precipitation_sum (mm) (Float64; null where Open-Meteo has no
    value). Raises `InvalidSourceData` naming the source, capital and field when the payload
    is not JSON, lacks `daily` or one of its fields, has lists of different lengths, a bad
    date or a non-numeric value.
    """
    where = f"{SOURCE_NAME} {state} ({capital})"
    document = _json(payload, where)
    daily = document.get("daily") if isinstance(document, dict) else None
    if not isinstance(daily, dict):
        raise InvalidSourceData(f"{where}: field 'daily' is missing (expected an object).")
    days = _field(daily, "time", where)
    if not days:
        raise InvalidSourceData(f"{where}: field 'daily.time' is empty: no days returned.")
    columns: dict[str, list[Any]] = {
        "state": [state] * len(days),
        "capital": [capital] * len(days),
        "date": [_day(value, position, where) for position, value in enumerate(days)],
    }
    for name, column in DAILY_FIELDS.items():
        values = _field(daily, name, where)
        if len(values) != len(days):
            raise InvalidSourceData(
                f"{where}: field 'daily.{name}' has {len(values)} values for {len(days)} days."
            )
        columns[column] = [_number(v, f"daily.{name}", i, where) for i, v in enumerate(values)]
    return pl.DataFrame(columns, schema=SCHEMA)


def _json(payload: bytes, where: str) -> Any:
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        start = payload[:60].decode("utf-8", "replace").strip()
        raise InvalidSourceData(f"{where}: the payload is not JSON (starts {start!r}).") from None


def _field(daily: dict[str, Any], name: str, where: str) -> list[Any]:
    values = daily.get(name)
    if not isinstance(values, list):
        raise InvalidSourceData(f"{where}: field 'daily.{name}' is missing (expected a list).")
    return values


def _day(value: Any, position: int, where: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidSourceData(
            f"{where}: field 'daily.time'[{position}] is not a YYYY-MM-DD date: {value!r}."
        ) from None


def _number(value: Any, name: str, position: int, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidSourceData(f"{where}: field '{name}'[{position}] is not a number: {value!r}.")
    return float(value)
