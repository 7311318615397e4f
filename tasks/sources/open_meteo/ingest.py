"""Open-Meteo daily weather history for the 27 state capitals (no API key), into bronze.

One request per capital over the date range (default the Olist period, 2016-09-01..
2018-10-31), so silver can join each sale with the weather of the buyer's state on the
purchase day. Each response lands as `open_meteo/daily/.../run_id=<id>/state=<UF>/daily.json`.
The same range requested again lands nothing new (same sha256).

`parse_open_meteo` is the contract silver reads bronze with.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import polars as pl

from blocks.errors import InvalidSourceData
from blocks.lake import Lake
from blocks.settings import CofreSettings
from tasks.runlog import run_logger
from tasks.sources.external import (
    SourceResult,
    SourceSession,
    bronze_row,
    land_payload,
)
from tasks.sources.http import HttpGetter, HttpPolicy
from tasks.sources.snapshots import SYNTHETIC_LABEL_KEY, snapshot_bytes
from tasks.sources.weather_checks import weather_warnings

SOURCE, DATASET = "open_meteo", "daily"
SOURCE_NAME = f"{SOURCE}/{DATASET}"
TIMEZONE = "America/Sao_Paulo"  # Olist's timestamps are Brasília time: align the days to them
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


@dataclass(frozen=True)
class Capital:
    """A state capital from the bundled `state_capitals.csv`."""

    state: str
    capital: str
    latitude: float
    longitude: float
    openweather_city_id: int | None


def load_capitals() -> list[Capital]:
    """The 27 state capitals, in the bundled file's order."""
    text = (snapshot_bytes("state_capitals.csv") or b"").decode("utf-8")
    return [
        Capital(
            state=row["state"],
            capital=row["capital"],
            latitude=float(row["latitude"]),
            longitude=float(row["longitude"]),
            openweather_city_id=int(row["openweather_city_id"])
            if row["openweather_city_id"]
            else None,
        )
        for row in csv.DictReader(io.StringIO(text))
    ]


# -- parsing (the contract for silver) ------------------------------------------------------
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


# -- clients --------------------------------------------------------------------------------
class OpenMeteoClient(Protocol):
    """Daily history of one capital; None when the client has nothing for it."""

    mode: str

    def daily(self, capital: Capital, start: date, end: date) -> bytes | None: ...

    def close(self) -> None: ...


class LiveOpenMeteoClient:
    """The Open-Meteo archive API over HTTP."""

    mode = "live"

    def __init__(self, base_url: str, http: HttpGetter) -> None:
        self.base_url, self.http = base_url, http

    def daily(self, capital: Capital, start: date, end: date) -> bytes:
        params = {
            "latitude": f"{capital.latitude:.2f}",
            "longitude": f"{capital.longitude:.2f}",
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "daily": ",".join(DAILY_FIELDS),
            "timezone": TIMEZONE,
        }
        return self.http.get(self.base_url, params).content

    def close(self) -> None:
        self.http.close()


class SnapshotOpenMeteoClient:
    """The bundled SYNTHETIC sample (`tasks/sources/snapshots/open_meteo_<UF>.json`), clipped to the
    requested range; served byte for byte when the range covers the whole sample."""

    mode = "snapshot"

    def daily(self, capital: Capital, start: date, end: date) -> bytes | None:
        payload = snapshot_bytes(f"open_meteo_{capital.state}.json")
        if payload is None:
            return None
        document = json.loads(payload)
        days = document["daily"]["time"]
        keep = [i for i, day in enumerate(days) if start.isoformat() <= day <= end.isoformat()]
        if len(keep) == len(days):
            return payload
        if not keep:
            return None
        document["daily"] = {
            name: [values[i] for i in keep] for name, values in document["daily"].items()
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()

    def close(self) -> None:
        pass


# -- ingestion ------------------------------------------------------------------------------
def ingest_open_meteo(
    lake: Lake,
    settings: CofreSettings,
    run_id: str,
    mode: str | None = None,
    *,
    states: list[str] | None = None,
) -> SourceResult:
    """Land the daily history of every capital (or of `states`) for
    `settings.weather_start..weather_end` in bronze and parse it.

    Raises `InvalidSourceData` for a malformed payload (kept in bronze as invalid),
    `SourceUnavailable` / `SourceRejected` when the API fails (auto mode falls back to the
    bundled sample only when the network is unreachable).
    """
    start, end = settings.weather_start, settings.weather_end
    if end < start:
        raise InvalidSourceData(
            f"{SOURCE_NAME}: weather_end {end} is before weather_start {start}."
        )
    capitals = [c for c in load_capitals() if states is None or c.state in states]
    policy = HttpPolicy.from_settings(settings)
    session = SourceSession[OpenMeteoClient](
        SOURCE_NAME,
        mode or settings.sources,
        live=lambda: LiveOpenMeteoClient(
            settings.open_meteo_base_url, HttpGetter(SOURCE_NAME, policy)
        ),
        snapshot=SnapshotOpenMeteoClient,
    )
    objects, frames, skipped = [], [], []
    with session:
        for capital in capitals:
            payload = session.call(lambda client, c=capital: client.daily(c, start, end))
            if payload is None:
                skipped.append(capital.state)
                continue
            landing, frame = land_payload(
                lake,
                source=SOURCE,
                dataset=DATASET,
                filename=f"state={capital.state}/daily.json",
                run_id=run_id,
                payload=payload,
                parse=lambda data, c=capital: parse_open_meteo(data, c.state, c.capital),
                extra=_extra(session.mode, capital, start, end, payload),
            )
            objects.append(bronze_row(lake, landing))
            frames.append(frame)
    frame = pl.concat(frames) if frames else pl.DataFrame(schema=SCHEMA)
    warnings = weather_warnings(
        frame, SOURCE_NAME, ["temperature_max", "temperature_min"], list(DAILY_FIELDS.values())
    )
    if skipped:
        warnings.append(f"the {session.mode} source had nothing for {start}..{end} in {skipped}")
        run_logger(__name__).warning("%s: %s", SOURCE_NAME, warnings[-1])
    return session.result(
        objects=objects,
        rows=frame.height,
        synthetic=session.mode == "snapshot",
        warnings=warnings,
    )


def _extra(mode: str, capital: Capital, start: date, end: date, payload: bytes) -> dict[str, Any]:
    extra: dict[str, Any] = {
        "mode": mode,
        "state": capital.state,
        "capital": capital.capital,
        "window": f"{start.isoformat()}/{end.isoformat()}",
    }
    if mode == "snapshot":
        extra["synthetic"] = SYNTHETIC_LABEL_KEY.encode() in payload
    return extra
