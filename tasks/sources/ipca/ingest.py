"""IPCA (BCB SGS series 433, monthly % change) into bronze, incrementally, in 10-year windows.

`GET <sgs_base_url>?formato=json&dataInicial=dd/mm/yyyy&dataFinal=dd/mm/yyyy`; the API serves
at most 10 years per request, so longer ranges are split into windows. A run asks only for
what bronze lacks: from the month after the last valid month already landed (live or the
bundled real snapshot alike) up to today, and makes no request at all when the next month
cannot have been published yet (IPCA for a month comes out early the following month). Each
window's response lands as `bcb_sgs/ipca_433/.../run_id=<id>/window=<start>_<end>/sgs_433.json`
with `extra.first_month/last_month`, which the next run reads back.

`parse_ipca` and `accumulated_index` are the contract silver reads bronze with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

import polars as pl

from blocks.errors import InvalidSourceData, SourceRejected
from blocks.lake import Lake
from blocks.settings import CofreSettings
from tasks.bronze import list_manifests
from tasks.runlog import run_logger
from tasks.sources.external import (
    SourceResult,
    SourceSession,
    bronze_row,
    land_payload,
)
from tasks.sources.http import HttpGetter, HttpPolicy
from tasks.sources.snapshots import snapshot_bytes

SOURCE, DATASET = "bcb_sgs", "ipca_433"
SOURCE_NAME = f"{SOURCE}/{DATASET}"
MAX_WINDOW_YEARS = 10
SNAPSHOT_FILE = "bcb_sgs_433.json"
SCHEMA = {"month": pl.Date, "pct_change": pl.Float64}


# -- parsing (the contract for silver) ------------------------------------------------------
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
    months = [_month(record, i, source_name) for i, record in enumerate(records)]
    changes = [_valor(record, i, source_name) for i, record in enumerate(records)]
    frame = pl.DataFrame({"month": months, "pct_change": changes}, schema=SCHEMA)
    return frame.unique("month", keep="last").sort("month")


def _field(record: Any, name: str, position: int, source_name: str) -> Any:
    if not isinstance(record, dict) or name not in record:
        raise InvalidSourceData(f"{source_name}: record {position} lacks field '{name}'.")
    return record[name]


def _month(record: Any, position: int, source_name: str) -> date:
    value = _field(record, "data", position, source_name)
    try:
        return datetime.strptime(value, "%d/%m/%Y").date().replace(day=1)
    except (TypeError, ValueError):
        raise InvalidSourceData(
            f"{source_name}: record {position} field 'data' is not a dd/mm/yyyy date: {value!r}."
        ) from None


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


# -- windows --------------------------------------------------------------------------------
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
        stop = min(end, _add_months(start, 12 * years) - _ONE_DAY)
        windows.append(Window(start, stop))
        start = stop + _ONE_DAY
    return windows


def last_landed_month(lake: Lake) -> date | None:
    """The latest month held by a valid IPCA landing in bronze (live or snapshot), or None."""
    months = [
        date.fromisoformat(m.extra["last_month"])
        for m in list_manifests(lake, SOURCE, DATASET)
        if m.valid and m.extra.get("last_month")
    ]
    return max(months, default=None)


def pending_windows(lake: Lake, first_month: date, today: date) -> tuple[list[Window], str | None]:
    """The windows still to fetch, or ([], why nothing is) when bronze is up to date."""
    last = last_landed_month(lake)
    start = first_month.replace(day=1) if last is None else _add_months(last, 1)
    latest_published = _add_months(today.replace(day=1), -1)
    if start > latest_published:
        reason = (
            f"IPCA is already in bronze up to {last:%Y-%m}; {start:%Y-%m} is published in "
            f"the following month: nothing new to fetch"
            if last
            else f"ipca_start {first_month} is after the latest published month"
        )
        return [], reason
    return split_windows(start, today), None


_ONE_DAY = date(2000, 1, 2) - date(2000, 1, 1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


# -- clients --------------------------------------------------------------------------------
class SgsClient(Protocol):
    """One window of series 433; None when the client has nothing for that window."""

    mode: str

    def fetch(self, window: Window) -> bytes | None: ...

    def close(self) -> None: ...


class LiveSgsClient:
    """The BCB SGS JSON API over HTTP."""

    mode = "live"

    def __init__(self, base_url: str, http: HttpGetter) -> None:
        self.base_url, self.http = base_url, http

    def fetch(self, window: Window) -> bytes:
        return self.http.get(self.base_url, window.params()).content

    def close(self) -> None:
        self.http.close()


class SnapshotSgsClient:
    """The bundled REAL IPCA values (Jan 2016 – Dec 2018,
    `tasks/sources/snapshots/bcb_sgs_433.json`) filtered to the window as SGS would; byte for
    byte when the window covers them all."""

    mode = "snapshot"

    def __init__(self, payload: bytes | None = None) -> None:
        self.payload = payload if payload is not None else snapshot_bytes(SNAPSHOT_FILE) or b""

    def fetch(self, window: Window) -> bytes | None:
        records = json.loads(self.payload)
        inside = [r for r in records if window.start <= _month(r, 0, SNAPSHOT_FILE) <= window.end]
        if len(inside) == len(records):
            return self.payload
        if not inside:
            return None
        return json.dumps(inside, indent=1, ensure_ascii=False).encode()

    def close(self) -> None:
        pass


# -- ingestion ------------------------------------------------------------------------------
def ingest_ipca(
    lake: Lake,
    settings: CofreSettings,
    run_id: str,
    mode: str | None = None,
    *,
    today: date | None = None,
) -> SourceResult:
    """Land the IPCA months bronze lacks (from `settings.ipca_start` on the first run).

    Raises `InvalidSourceData` for a malformed window (kept in bronze as invalid),
    `SourceUnavailable` / `SourceRejected` when the API fails (auto mode falls back to the
    bundled snapshot only when the network is unreachable).
    """
    log = run_logger(__name__)
    today = today or date.today()
    windows, reason = pending_windows(lake, settings.ipca_start, today)
    policy = HttpPolicy.from_settings(settings)
    session = SourceSession[SgsClient](
        SOURCE_NAME,
        mode or settings.sources,
        live=lambda: LiveSgsClient(settings.sgs_base_url, HttpGetter(SOURCE_NAME, policy)),
        snapshot=SnapshotSgsClient,
    )
    if not windows:
        log.info("%s: %s; no request made", SOURCE_NAME, reason)
        session.close()
        return session.result(reason=reason)
    last = last_landed_month(lake)
    fresh_from = _add_months(today.replace(day=1), -1)  # may legitimately be unpublished
    objects, rows, notes = [], 0, []
    with session:
        for window in windows:
            fresh = window.start >= fresh_from
            payload = _fetch(session, window, fresh=fresh)
            if payload is None or (fresh and _nothing_new(payload, last)):
                notes.append(f"nothing new from the {session.mode} source for {window.label}")
                log.info("%s: %s", SOURCE_NAME, notes[-1])
                continue
            landing, frame = land_payload(
                lake,
                source=SOURCE,
                dataset=DATASET,
                filename=f"window={window.label}/sgs_433.json",
                run_id=run_id,
                payload=payload,
                parse=lambda data, w=window: parse_ipca(data, f"{SOURCE_NAME} window {w.label}"),
                extra={"mode": session.mode, "window": window.label, "synthetic": False},
                describe=_months,
            )
            objects.append(bronze_row(lake, landing))
            rows += frame.height
    return session.result(objects=objects, rows=rows, reason="; ".join(notes) or None)


def _fetch(session: SourceSession[SgsClient], window: Window, *, fresh: bool) -> bytes | None:
    """One window; for a window of not-yet-published months, a 404 means nothing new."""
    try:
        return session.call(lambda client: client.fetch(window))
    except SourceRejected as exc:
        if fresh and exc.status == 404:
            return None
        raise


def _nothing_new(payload: bytes, last: date | None) -> bool:
    """For a window of months that may be unpublished: True for an empty list, or for only
    months already landed (SGS may repeat its latest value when asked for later months)."""
    try:
        records = json.loads(payload)
        return isinstance(records, list) and all(
            last is not None and _month(r, i, SOURCE_NAME) <= last for i, r in enumerate(records)
        )
    except (ValueError, InvalidSourceData):
        return False  # malformed: let the parser say why, and land it as invalid


def _months(frame: pl.DataFrame) -> dict[str, Any]:
    return {
        "first_month": frame["month"].min().isoformat(),
        "last_month": frame["month"].max().isoformat(),
    }
