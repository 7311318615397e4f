"""OpenWeather current-weather payloads as a typed one-row frame: the contract silver reads
bronze with."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import polars as pl

from blocks.errors import InvalidSourceData

SOURCE, DATASET = "openweather", "current"
SOURCE_NAME = f"{SOURCE}/{DATASET}"
SCHEMA = {
    "city": pl.String,
    "city_id": pl.Int64,
    "temperature": pl.Float64,  # °C (units=metric)
    "description": pl.String,  # in Portuguese (lang=pt_br)
    "humidity": pl.Float64,  # %
    "pressure": pl.Float64,  # hPa
    "wind_speed": pl.Float64,  # m/s
    "collected_at": pl.Datetime("us", "UTC"),  # observation time (`dt`)
}
MEASURES = ["temperature", "humidity", "pressure", "wind_speed"]


def parse_openweather(payload: bytes, city_id: int) -> pl.DataFrame:
    """Parse an OpenWeather current-weather response into a one-row frame.

    Columns: city, city_id, temperature (°C), description, humidity (%), pressure (hPa),
    wind_speed (m/s), collected_at (UTC datetime of the observation, OpenWeather's `dt`).
    A measurement that is JSON null stays null (the warning rules count nulls). Raises
    `InvalidSourceData` naming the city and field when the payload is not JSON, a field is
    missing, or a value is not a number.
    """
    where = f"{SOURCE_NAME} city {city_id}"
    try:
        document = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        start = payload[:60].decode("utf-8", "replace").strip()
        raise InvalidSourceData(f"{where}: the payload is not JSON (starts {start!r}).") from None
    if not isinstance(document, dict):
        raise InvalidSourceData(f"{where}: expected a JSON object, got {type(document).__name__}.")
    weather = _path(document, "weather", where)
    if not isinstance(weather, list) or not weather or not isinstance(weather[0], dict):
        raise InvalidSourceData(f"{where}: field 'weather' is missing or empty.")
    row = {
        "city": _path(document, "name", where),
        "city_id": city_id,
        "temperature": _number(document, "main.temp", where),
        "description": _path(weather[0], "description", f"{where} weather[0]"),
        "humidity": _number(document, "main.humidity", where),
        "pressure": _number(document, "main.pressure", where),
        "wind_speed": _number(document, "wind.speed", where),
        "collected_at": _observed_at(document, where),
    }
    return pl.DataFrame([row], schema=SCHEMA)


def _path(document: dict[str, Any], dotted: str, where: str) -> Any:
    value: Any = document
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            raise InvalidSourceData(f"{where}: field '{dotted}' is missing.")
        value = value[part]
    return value


def _number(document: dict[str, Any], dotted: str, where: str) -> float | None:
    value = _path(document, dotted, where)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidSourceData(f"{where}: field '{dotted}' is not a number: {value!r}.")
    return float(value)


def _observed_at(document: dict[str, Any], where: str) -> datetime:
    value = _path(document, "dt", where)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidSourceData(f"{where}: field 'dt' is not a unix time: {value!r}.")
    return datetime.fromtimestamp(value, UTC)
