"""The BCB SGS API for IPCA (series 433, monthly % change): a live client, its snapshot twin.

`GET <sgs_base_url>?formato=json&dataInicial=dd/mm/yyyy&dataFinal=dd/mm/yyyy` answers
`[{"data": "dd/mm/yyyy", "valor": "x.xx"}, ...]`, one record per month in the range. The API
serves at most 10 years per request, so longer ranges are split into `Window`s. A range with
nothing published yet is answered with an empty list, the latest value again, or a 404.

The snapshot twin serves the bundled REAL values (`tasks/sources/snapshots/bcb_sgs_433.json`)
filtered as SGS would. `sgs_session` picks the client a run uses (`--sources live | snapshot |
auto`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from blocks.settings import CofreSettings
from tasks.sources.external import LiveClient, SnapshotClient, SourceSession
from tasks.sources.http import HttpGetter, HttpPolicy
from tasks.sources.ipca.parse import SOURCE_NAME, record_month
from tasks.sources.snapshots import snapshot_bytes

MAX_WINDOW_YEARS = 10
SNAPSHOT_FILE = "bcb_sgs_433.json"
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Window:
    """An inclusive date range of at most `MAX_WINDOW_YEARS` years, as SGS takes it."""

    start: date
    end: date

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()}_{self.end.isoformat()}"

    def params(self) -> dict[str, str]:
        return {
            "formato": "json",
            "dataInicial": self.start.strftime("%d/%m/%Y"),
            "dataFinal": self.end.strftime("%d/%m/%Y"),
        }


def split_windows(start: date, end: date, years: int = MAX_WINDOW_YEARS) -> list[Window]:
    """[start, end] as consecutive windows of at most `years` years each."""
    windows = []
    while start <= end:
        stop = min(end, add_months(start, 12 * years) - _ONE_DAY)
        windows.append(Window(start, stop))
        start = stop + _ONE_DAY
    return windows


def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after (or before, when negative) `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


class SgsClient(Protocol):
    """One window of series 433; None when the client has nothing for that window."""

    mode: str

    def fetch(self, window: Window) -> bytes | None: ...

    def close(self) -> None: ...


class LiveSgsClient(LiveClient):
    """The BCB SGS JSON API over HTTP."""

    def fetch(self, window: Window) -> bytes:
        return self.http.get(self.base_url, window.params()).content


class SnapshotSgsClient(SnapshotClient):
    """The bundled REAL IPCA values (Jan 2016 – Dec 2018,
    `tasks/sources/snapshots/bcb_sgs_433.json`) filtered to the window as SGS would; byte for
    byte when the window covers them all."""

    def __init__(self, payload: bytes | None = None) -> None:
        self.payload = payload if payload is not None else snapshot_bytes(SNAPSHOT_FILE) or b""

    def fetch(self, window: Window) -> bytes | None:
        records = json.loads(self.payload)
        inside = [
            r for r in records if window.start <= record_month(r, 0, SNAPSHOT_FILE) <= window.end
        ]
        if len(inside) == len(records):
            return self.payload
        if not inside:
            return None
        return json.dumps(inside, indent=1, ensure_ascii=False).encode()


def sgs_session(settings: CofreSettings, mode: str | None = None) -> SourceSession[SgsClient]:
    """The client serving this run: `mode` (default `settings.sources`) live, snapshot, or
    auto (live, the snapshot when the network is unreachable)."""
    policy = HttpPolicy.from_settings(settings)
    return SourceSession[SgsClient](
        SOURCE_NAME,
        mode or settings.sources,
        live=lambda: LiveSgsClient(settings.sgs_base_url, HttpGetter(SOURCE_NAME, policy)),
        snapshot=SnapshotSgsClient,
    )
