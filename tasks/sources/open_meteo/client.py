"""The Open-Meteo archive API (daily weather history, no API key): a live client, its snapshot
twin, and the 27 state capitals they are asked about.

`GET <open_meteo_base_url>?latitude=<lat>&longitude=<lon>&start_date=YYYY-MM-DD&
end_date=YYYY-MM-DD&daily=<DAILY_FIELDS, comma-separated>&timezone=America/Sao_Paulo`, one
request per capital over the whole date range, answers
`{"daily": {"time": ["YYYY-MM-DD", ...], "temperature_2m_max": [...], ...}}` (°C, mm; null
where there is no value).

The snapshot twin serves the bundled SYNTHETIC sample
(`tasks/sources/snapshots/open_meteo_<UF>.json`), clipped to the range. `open_meteo_session`
picks the client a run uses (`--sources live | snapshot | auto`).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from blocks.settings import CofreSettings
from tasks.sources.external import LiveClient, SnapshotClient, SourceSession
from tasks.sources.http import HttpGetter, HttpPolicy
from tasks.sources.open_meteo.parse import DAILY_FIELDS, SOURCE_NAME
from tasks.sources.snapshots import snapshot_bytes

TIMEZONE = "America/Sao_Paulo"  # Olist's timestamps are Brasília time: align the days to them


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


class OpenMeteoClient(Protocol):
    """Daily history of one capital; None when the client has nothing for it."""

    mode: str

    def daily(self, capital: Capital, start: date, end: date) -> bytes | None: ...

    def close(self) -> None: ...


class LiveOpenMeteoClient(LiveClient):
    """The Open-Meteo archive API over HTTP."""

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


class SnapshotOpenMeteoClient(SnapshotClient):
    """The bundled SYNTHETIC sample (`tasks/sources/snapshots/open_meteo_<UF>.json`), clipped to the
    requested range; served byte for byte when the range covers the whole sample."""

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


def open_meteo_session(
    settings: CofreSettings, mode: str | None = None
) -> SourceSession[OpenMeteoClient]:
    """The client serving this run: `mode` (default `settings.sources`) live, snapshot, or
    auto (live, the sample when the network is unreachable)."""
    policy = HttpPolicy.from_settings(settings)
    return SourceSession[OpenMeteoClient](
        SOURCE_NAME,
        mode or settings.sources,
        live=lambda: LiveOpenMeteoClient(
            settings.open_meteo_base_url, HttpGetter(SOURCE_NAME, policy)
        ),
        snapshot=SnapshotOpenMeteoClient,
    )
