"""What every external source (IPCA, OpenWeather, Open-Meteo) shares.

- `SourceSession`: which client serves a source's requests in this run. `live` and `snapshot`
  use one client; `auto` starts live and switches to the bundled snapshot only when the
  network is unreachable (`NetworkUnreachable`: refused, DNS failure, connect timeout), never on
  an HTTP error, saying so in the log and the audit trail (SOURCE_FALLBACK).
- `LiveClient` / `SnapshotClient`: what every source's live and snapshot clients share.
- `land_payload`: raw bytes to bronze, parsed by the source's public parser; a payload that
  does not parse is still landed, marked `valid=False` with the error, then the error raised.
  `land_payloads` does so for each `Payload` a source's fetch loop yields.
- `SourceResult`: what one source did in a run, for the run summary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import polars as pl

from blocks import audit
from blocks.errors import (
    ConfigurationError,
    InvalidSourceData,
    NetworkUnreachable,
    SourceRejected,
    SourceUnavailable,
)
from blocks.lake import Lake
from blocks.runtime.prefect_noise import UI_ONLY
from tasks.bronze import BronzeLanding, land_bronze
from tasks.retries import retry_only_on
from tasks.runlog import run_logger
from tasks.sources.http import HttpGetter
from validation.catalog import Layer

SOURCE_MODES = ("live", "snapshot", "auto")
T = TypeVar("T")


class SourceClient(Protocol):
    """The part every client shares: `mode` is "live" or "snapshot"."""

    mode: str

    def close(self) -> None: ...


C = TypeVar("C", bound=SourceClient)


class LiveClient:
    """Base of a source's live client: its API's URL, fetched through one `HttpGetter`."""

    mode = "live"

    def __init__(self, base_url: str, http: HttpGetter) -> None:
        self.base_url, self.http = base_url, http

    def close(self) -> None:
        self.http.close()


class SnapshotClient:
    """Base of a source's snapshot twin: bundled payloads, nothing to close."""

    mode = "snapshot"

    def close(self) -> None:
        pass


@dataclass
class SourceResult:
    """What one external source did in a run (printed by the run summary)."""

    source: str  # "<source>/<dataset>", e.g. "bcb_sgs/ipca_433"
    requested: str  # the --sources mode asked for: live, snapshot or auto
    mode: str  # what served the data: live or snapshot
    fell_back: bool = False  # auto mode switched to the snapshot
    reason: str | None = None  # why it fell back, or why nothing was fetched
    objects: list[dict[str, Any]] = field(default_factory=list)  # bronze rows, as Olist's
    rows: int = 0  # parsed rows served this run (landed now or already in bronze)
    synthetic: bool = False  # the snapshot served is a synthetic sample, not real data
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class SourceSession(Generic[C]):
    """Serves a source's requests from the live client, or the snapshot twin.

    `live` is None when the live client cannot be built (e.g. no API key): `auto` then starts
    on the snapshot with `unavailable_reason`, `live` raises `ConfigurationError` with it.
    """

    def __init__(
        self,
        source: str,
        requested: str,
        *,
        live: Callable[[], C] | None,
        snapshot: Callable[[], C],
        unavailable_reason: str | None = None,
    ) -> None:
        if requested not in SOURCE_MODES:
            raise ConfigurationError(
                f"Unknown source mode {requested!r} for {source}: use live, snapshot or auto."
            )
        self.source = source
        self.requested = requested
        self._snapshot_factory = snapshot
        self.fell_back = False
        self.reason: str | None = None
        if requested == "snapshot":
            self.client: C = snapshot()
        elif live is None:
            why = unavailable_reason or "the live client is not configured"
            if requested == "live":
                raise ConfigurationError(f"{source}: cannot run live: {why}.")
            self.client = snapshot()
            self._record_fallback(why)
        else:
            self.client = live()

    @property
    def mode(self) -> str:
        return self.client.mode

    def call(self, request: Callable[[C], T]) -> T:
        """Run one request on the current client; in auto mode, an unreachable network
        switches this and every later request of the run to the snapshot."""
        try:
            return request(self.client)
        except NetworkUnreachable as exc:
            if self.requested != "auto" or self.client.mode != "live":
                raise
            self.client.close()
            self.client = self._snapshot_factory()
            self._record_fallback(f"network unreachable: {getattr(exc, 'reason', exc)}")
        return request(self.client)

    def _record_fallback(self, reason: str) -> None:
        self.fell_back, self.reason = True, reason
        run_logger(__name__).warning(
            "%s: FALLING BACK TO THE BUNDLED SNAPSHOT (--sources auto): %s", self.source, reason
        )
        audit.record(
            audit.Action.SOURCE_FALLBACK,
            self.source,
            details={"requested": self.requested, "served_by": "snapshot", "reason": reason},
            outcome="warning",
            compliance="LGPD_NA",
        )

    def result(self, **values: Any) -> SourceResult:
        """This run's `SourceResult`; a fallback's reason wins over `values["reason"]`."""
        if self.fell_back or "reason" not in values:
            values["reason"] = self.reason
        return SourceResult(
            source=self.source,
            requested=self.requested,
            mode=self.mode,
            fell_back=self.fell_back,
            **values,
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> SourceSession[C]:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def land_payload(
    lake: Lake,
    *,
    source: str,
    dataset: str,
    filename: str,
    run_id: str,
    payload: bytes,
    parse: Callable[[bytes], pl.DataFrame],
    extra: dict[str, Any],
    describe: Callable[[pl.DataFrame], dict[str, Any]] | None = None,
) -> tuple[BronzeLanding, pl.DataFrame]:
    """Parse `payload` and land it in bronze with its manifest, valid or not.

    `describe(frame)` adds manifest extras known only after parsing (first/last month...).
    Raises the parser's `InvalidSourceData` after landing the bytes with `valid=False`.
    """
    common = {"source": source, "dataset": dataset, "filename": filename, "run_id": run_id}
    try:
        frame = parse(payload)
    except InvalidSourceData as exc:
        landing = land_bronze(
            lake, data=payload, valid=False, error=str(exc), extra=extra, **common
        )
        run_logger(__name__).error(
            "%s/%s: kept the unusable payload in bronze as %s (valid=False)",
            source,
            dataset,
            lake.url(Layer.BRONZE, landing.manifest.key),
        )
        raise
    extra = {**extra, **(describe(frame) if describe else {})}
    landing = land_bronze(lake, data=payload, rows=frame.height, extra=extra, **common)
    state = "landed" if landing.written else "already in bronze (same sha256), skipped"
    run_logger(__name__).info(
        "%s/%s %s: %d rows, %s", source, dataset, filename, frame.height, state, extra=UI_ONLY
    )
    return landing, frame


@dataclass(frozen=True)
class Payload:
    """One response a client served and how it lands (the arguments of `land_payload`)."""

    filename: str  # under the run's partition, e.g. "state=SP/daily.json"
    data: bytes
    parse: Callable[[bytes], pl.DataFrame]
    extra: dict[str, Any]
    describe: Callable[[pl.DataFrame], dict[str, Any]] | None = None


def land_payloads(
    lake: Lake,
    *,
    source: str,
    dataset: str,
    run_id: str,
    payloads: Iterable[Payload],
    schema: dict[str, Any],
) -> tuple[list[dict[str, Any]], pl.DataFrame]:
    """Land each payload as the iterable yields it, so a later failed fetch or invalid payload
    keeps the ones before it in bronze. Returns the bronze rows and every parsed frame in one
    (empty, with `schema`, when nothing was served).

    Raises what `land_payload` or the iterable raises.
    """
    objects, frames = [], []
    for payload in payloads:
        landing, frame = land_payload(
            lake,
            source=source,
            dataset=dataset,
            filename=payload.filename,
            run_id=run_id,
            payload=payload.data,
            parse=payload.parse,
            extra=payload.extra,
            describe=payload.describe,
        )
        objects.append(bronze_row(lake, landing))
        frames.append(frame)
    return objects, pl.concat(frames) if frames else pl.DataFrame(schema=schema)


def bronze_row(lake: Lake, landing: BronzeLanding) -> dict[str, Any]:
    """The run-summary row of one landing (the same shape as Olist's, plus source/valid)."""
    manifest = landing.manifest
    return {
        "source": manifest.source,
        "object": lake.url(Layer.BRONZE, manifest.key),
        "rows": manifest.rows,
        "bytes": manifest.bytes,
        "written": landing.written,
        "valid": manifest.valid,
    }


# Retry a source task only when its fetch failed in a way time may cure (the HTTP layer gave
# up on 5xx, 429, timeouts or an unreachable network in live mode). A 4xx, a malformed
# payload or a configuration error is never retried.
retry_on_fetch_failure = retry_only_on(SourceUnavailable, never=(SourceRejected,))


def format_source_summary(results: list[dict[str, Any]]) -> str:
    """Lines for the run summary: each source, what served it, and why."""
    lines = ["External sources:"]
    for result in results:
        served = result["mode"].upper() if result["mode"] == "snapshot" else result["mode"]
        written = sum(1 for row in result["objects"] if row["written"])
        line = (
            f"  {result['source']:<20} {served:<9} {len(result['objects'])} object(s), "
            f"{written} new, {result['rows']} rows"
        )
        if result["synthetic"]:
            line += "  [SYNTHETIC sample, not real data]"
        lines.append(line)
        if result["fell_back"]:
            lines.append(f"      fell back to the bundled snapshot: {result['reason']}")
        elif result["reason"]:
            lines.append(f"      {result['reason']}")
        lines.extend(f"      warning: {warning}" for warning in result["warnings"])
    snapshots = [r["source"] for r in results if r["mode"] == "snapshot"]
    if snapshots:
        lines.append(f"  Served from bundled snapshots, not live APIs: {', '.join(snapshots)}")
    return "\n".join(lines)
