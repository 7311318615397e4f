"""IPCA into bronze, incrementally, one object per SGS request window.

A run asks only for what bronze lacks: from the month after the last valid month already
landed (live or the bundled real snapshot alike) up to today, and makes no request at all when
the next month cannot have been published yet (IPCA for a month comes out early the following
month). Each window's response lands as
`bcb_sgs/ipca_433/.../run_id=<id>/window=<start>_<end>/sgs_433.json` with
`extra.first_month/last_month`, which the next run reads back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import polars as pl

from blocks.errors import InvalidSourceData, SourceRejected
from blocks.lake import Lake
from blocks.settings import CofreSettings
from tasks.bronze import list_manifests
from tasks.runlog import run_logger
from tasks.sources.external import Payload, SourceResult, SourceSession, land_payloads
from tasks.sources.ipca.client import SgsClient, Window, add_months, sgs_session, split_windows
from tasks.sources.ipca.parse import (
    DATASET,
    SCHEMA,
    SOURCE,
    SOURCE_NAME,
    parse_ipca,
    record_month,
)


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
    start = first_month.replace(day=1) if last is None else add_months(last, 1)
    latest_published = add_months(today.replace(day=1), -1)
    if start > latest_published:
        reason = (
            f"IPCA is already in bronze up to {last:%Y-%m}; {start:%Y-%m} is published in "
            f"the following month: nothing new to fetch"
            if last
            else f"ipca_start {first_month} is after the latest published month"
        )
        return [], reason
    return split_windows(start, today), None


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
    session = sgs_session(settings, mode)
    if not windows:
        log.info("%s: %s; no request made", SOURCE_NAME, reason)
        session.close()
        return session.result(reason=reason)
    notes: list[str] = []
    with session:
        objects, frame = land_payloads(
            lake,
            source=SOURCE,
            dataset=DATASET,
            run_id=run_id,
            payloads=_window_payloads(session, windows, last_landed_month(lake), today, notes),
            schema=SCHEMA,
        )
    return session.result(objects=objects, rows=frame.height, reason="; ".join(notes) or None)


def _window_payloads(
    session: SourceSession[SgsClient],
    windows: list[Window],
    last: date | None,
    today: date,
    notes: list[str],
) -> Iterator[Payload]:
    """Each window's payload as fetched; a window with nothing new is noted in `notes`."""
    fresh_from = add_months(today.replace(day=1), -1)  # may legitimately be unpublished
    for window in windows:
        fresh = window.start >= fresh_from
        payload = _fetch(session, window, fresh=fresh)
        if payload is None or (fresh and _nothing_new(payload, last)):
            notes.append(f"nothing new from the {session.mode} source for {window.label}")
            run_logger(__name__).info("%s: %s", SOURCE_NAME, notes[-1])
            continue
        yield Payload(
            filename=f"window={window.label}/sgs_433.json",
            data=payload,
            parse=lambda data, w=window: parse_ipca(data, f"{SOURCE_NAME} window {w.label}"),
            extra={"mode": session.mode, "window": window.label, "synthetic": False},
            describe=_months,
        )


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
            last is not None and record_month(r, i, SOURCE_NAME) <= last
            for i, r in enumerate(records)
        )
    except (ValueError, InvalidSourceData):
        return False  # malformed: let the parser say why, and land it as invalid


def _months(frame: pl.DataFrame) -> dict[str, Any]:
    return {
        "first_month": frame["month"].min().isoformat(),
        "last_month": frame["month"].max().isoformat(),
    }
