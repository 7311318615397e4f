"""Open-Meteo daily weather history for the 27 state capitals into bronze.

One request per capital over the date range (default the Olist period, 2016-09-01..
2018-10-31), so silver can join each sale with the weather of the buyer's state on the
purchase day. Each response lands as `open_meteo/daily/.../run_id=<id>/state=<UF>/daily.json`.
The same range requested again lands nothing new (same sha256).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from blocks.errors import InvalidSourceData
from blocks.lake import Lake
from blocks.settings import CofreSettings
from tasks.sources.external import Payload, SourceResult, SourceSession, land_payloads
from tasks.sources.open_meteo.client import (
    Capital,
    OpenMeteoClient,
    load_capitals,
    open_meteo_session,
)
from tasks.sources.open_meteo.parse import (
    DAILY_FIELDS,
    DATASET,
    SCHEMA,
    SOURCE,
    SOURCE_NAME,
    TEMPERATURE_COLUMNS,
    parse_open_meteo,
)
from tasks.sources.snapshots import SYNTHETIC_LABEL_KEY
from tasks.sources.weather_checks import weather_result


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
    session = open_meteo_session(settings, mode)
    skipped: list[str] = []
    with session:
        objects, frame = land_payloads(
            lake,
            source=SOURCE,
            dataset=DATASET,
            run_id=run_id,
            payloads=_capital_payloads(session, capitals, start, end, skipped),
            schema=SCHEMA,
        )
    nothing_for = None
    if skipped:
        nothing_for = f"the {session.mode} source had nothing for {start}..{end} in {skipped}"
    return weather_result(
        session,
        objects,
        frame,
        temperature_columns=TEMPERATURE_COLUMNS,
        measure_columns=list(DAILY_FIELDS.values()),
        skipped=nothing_for,
    )


def _capital_payloads(
    session: SourceSession[OpenMeteoClient],
    capitals: list[Capital],
    start: date,
    end: date,
    skipped: list[str],
) -> Iterator[Payload]:
    """Each capital's payload as fetched; a capital the client has nothing for is `skipped`."""
    for capital in capitals:
        payload = session.call(lambda client, c=capital: client.daily(c, start, end))
        if payload is None:
            skipped.append(capital.state)
            continue
        yield Payload(
            filename=f"state={capital.state}/daily.json",
            data=payload,
            parse=lambda data, c=capital: parse_open_meteo(data, c.state, c.capital),
            extra=_extra(session.mode, capital, start, end, payload),
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
