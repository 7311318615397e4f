"""OpenWeather current weather for the configured cities into bronze: a snapshot per run.

Each response lands as `openweather/current/.../run_id=<id>/city_id=<id>/current.json`;
nothing is overwritten, so every run adds to the weather history.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from blocks.lake import Lake
from blocks.settings import CofreSettings
from tasks.sources.external import Payload, SourceResult, SourceSession, land_payloads
from tasks.sources.openweather.client import OpenWeatherClient, openweather_session
from tasks.sources.openweather.parse import (
    DATASET,
    MEASURES,
    SCHEMA,
    SOURCE,
    parse_openweather,
)
from tasks.sources.snapshots import SYNTHETIC_LABEL_KEY
from tasks.sources.weather_checks import weather_result


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
    session = openweather_session(settings, mode, api_key=api_key)
    missing: list[int] = []
    with session:
        objects, frame = land_payloads(
            lake,
            source=SOURCE,
            dataset=DATASET,
            run_id=run_id,
            payloads=_city_payloads(session, settings.openweather_city_ids, missing),
            schema=SCHEMA,
        )
    nothing_for = None
    if missing:
        nothing_for = f"the bundled sample has no city id(s) {missing}; they were skipped"
    return weather_result(
        session,
        objects,
        frame,
        temperature_columns=["temperature"],
        measure_columns=MEASURES,
        skipped=nothing_for,
    )


def _city_payloads(
    session: SourceSession[OpenWeatherClient], city_ids: list[int], missing: list[int]
) -> Iterator[Payload]:
    """Each city's payload as fetched; a city the client has nothing for is `missing`."""
    for city_id in city_ids:
        payload = session.call(lambda client, c=city_id: client.current(c))
        if payload is None:
            missing.append(city_id)
            continue
        extra: dict[str, Any] = {"mode": session.mode, "city_id": city_id}
        if session.mode == "snapshot":
            extra["synthetic"] = SYNTHETIC_LABEL_KEY.encode() in payload
        yield Payload(
            filename=f"city_id={city_id}/current.json",
            data=payload,
            parse=lambda data, c=city_id: parse_openweather(data, c),
            extra=extra,
            describe=lambda f: {"collected_at": f["collected_at"][0].isoformat()},
        )
