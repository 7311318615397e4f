"""OpenWeather current weather for the configured cities, into bronze: a snapshot per run.

`GET <openweather_base_url>?id=<city id>&appid=<key>&units=metric&lang=pt_br` for each city
of `settings.openweather_city_ids` (default the seed's five). Each response lands as
`openweather/current/.../run_id=<id>/city_id=<id>/current.json`; nothing is overwritten, so
every run adds to the weather history. The key comes from the encrypted API-key block
(`cofre secrets set api-key openweather`) and never appears in a URL that is logged, stored or
raised: it is masked as `appid=***`.

`parse_openweather` is the contract silver reads bronze with.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Protocol

import polars as pl

from blocks.errors import InvalidSourceData, SecretNotFound
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


# -- parsing (the contract for silver) ------------------------------------------------------
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


# -- clients --------------------------------------------------------------------------------
class OpenWeatherClient(Protocol):
    """Current weather of one city; None when the client has nothing for it."""

    mode: str

    def current(self, city_id: int) -> bytes | None: ...

    def close(self) -> None: ...


class LiveOpenWeatherClient:
    """The OpenWeather API over HTTP; the key is sent, never shown (`appid=***`)."""

    mode = "live"

    def __init__(self, base_url: str, api_key: str, http: HttpGetter) -> None:
        self.base_url, self._api_key, self.http = base_url, api_key, http

    def __repr__(self) -> str:
        return f"LiveOpenWeatherClient({self.base_url!r}, appid=***)"

    def current(self, city_id: int) -> bytes:
        params = {"id": city_id, "appid": self._api_key, "units": "metric", "lang": "pt_br"}
        return self.http.get(self.base_url, params).content

    def close(self) -> None:
        self.http.close()


class SnapshotOpenWeatherClient:
    """The bundled SYNTHETIC sample (`tasks/sources/snapshots/openweather_<city id>.json`)."""

    mode = "snapshot"

    def current(self, city_id: int) -> bytes | None:
        return snapshot_bytes(f"openweather_{city_id}.json")

    def close(self) -> None:
        pass


def resolve_api_key(settings: CofreSettings) -> tuple[str | None, str | None]:
    """(key, None) from the encrypted API-key block, or (None, why there is none).

    Decrypting is audited (SECRET_READ) and registers the key for log redaction.
    """
    name = settings.openweather_api_key_block
    if not name:
        return None, "no OpenWeather API-key block is configured (COFRE_OPENWEATHER_API_KEY_BLOCK)"
    from blocks.credentials import ApiKey  # imports Prefect blocks only when a key is needed

    try:
        return ApiKey.require(name).reveal("api_key"), None
    except SecretNotFound:
        return None, (
            f"no API-key block named {name!r} is saved; create it with "
            f"`cofre secrets set api-key {name}`"
        )


# -- ingestion ------------------------------------------------------------------------------
def ingest_openweather(
    lake: Lake,
    settings: CofreSettings,
    run_id: str,
    mode: str | None = None,
    *,
    api_key: str | None = None,
) -> SourceResult:
    """Land the current weather of every configured city in bronze and parse it.

    `api_key` overrides the key block (tests). Without a key, `auto` falls back to the
    snapshot and `live` raises `ConfigurationError`; a 401 (bad key) is always an error
    (`SourceRejected`). Malformed payloads are kept in bronze as invalid and raise
    `InvalidSourceData`. Temperatures outside [-10, 50] °C or over 1% nulls only warn.
    """
    mode = mode or settings.sources
    why_not = None
    if api_key is None and mode != "snapshot":
        api_key, why_not = resolve_api_key(settings)
    policy = HttpPolicy.from_settings(settings)

    def live() -> LiveOpenWeatherClient:
        http = HttpGetter(SOURCE_NAME, policy)
        return LiveOpenWeatherClient(settings.openweather_base_url, str(api_key), http)

    session = SourceSession[OpenWeatherClient](
        SOURCE_NAME,
        mode,
        live=live if api_key else None,
        snapshot=SnapshotOpenWeatherClient,
        unavailable_reason=why_not,
    )
    objects, frames, missing = [], [], []
    with session:
        for city_id in settings.openweather_city_ids:
            payload = session.call(lambda client, c=city_id: client.current(c))
            if payload is None:
                missing.append(city_id)
                continue
            extra: dict[str, Any] = {"mode": session.mode, "city_id": city_id}
            if session.mode == "snapshot":
                extra["synthetic"] = SYNTHETIC_LABEL_KEY.encode() in payload
            landing, frame = land_payload(
                lake,
                source=SOURCE,
                dataset=DATASET,
                filename=f"city_id={city_id}/current.json",
                run_id=run_id,
                payload=payload,
                parse=lambda data, c=city_id: parse_openweather(data, c),
                extra=extra,
                describe=lambda f: {"collected_at": f["collected_at"][0].isoformat()},
            )
            objects.append(bronze_row(lake, landing))
            frames.append(frame)
    frame = pl.concat(frames) if frames else pl.DataFrame(schema=SCHEMA)
    warnings = weather_warnings(frame, SOURCE_NAME, ["temperature"], MEASURES)
    if missing:
        warnings.append(f"the bundled sample has no city id(s) {missing}; they were skipped")
        run_logger(__name__).warning("%s: %s", SOURCE_NAME, warnings[-1])
    return session.result(
        objects=objects,
        rows=frame.height,
        synthetic=session.mode == "snapshot",
        warnings=warnings,
    )
