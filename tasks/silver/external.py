"""Silver for the external sources: every valid bronze payload parsed, merged, gated.

- ipca_monthly: month, pct_change, index (accumulated, base 100 before the first month);
  a month fetched twice keeps the newest value (IBGE revisions).
- weather_daily: one row per (state, date) from Open-Meteo, newest fetch wins.
- weather_snapshots: every OpenWeather observation (city, time), nothing overwritten.
Weather served from the bundled synthetic sample carries `synthetic = true` so nothing
downstream can mistake it for real data.
"""

from __future__ import annotations

import polars as pl

from blocks.lake import Lake
from tasks.bronze import BronzeManifest, list_manifests, read_landed
from tasks.silver.olist import bronze_ref
from tasks.sources.ipca.parse import accumulated_index, parse_ipca
from tasks.sources.open_meteo.parse import parse_open_meteo
from tasks.sources.openweather.parse import parse_openweather
from validation.gate import ROW, GateResult, run_gate
from validation.schemas import SOURCE_SCHEMAS


def _valid(lake: Lake, source: str, dataset: str) -> list[BronzeManifest]:
    return [m for m in list_manifests(lake, source, dataset) if m.valid]


def _synthetic(manifest: BronzeManifest) -> bool:
    return bool(manifest.extra.get("synthetic", False))


def ipca_monthly(lake: Lake, manifests: list[BronzeManifest]) -> pl.DataFrame:
    frames = [parse_ipca(read_landed(lake, m)) for m in manifests]  # oldest first
    merged = pl.concat(frames).unique("month", keep="last").sort("month")
    return accumulated_index(merged)


def weather_daily(lake: Lake, manifests: list[BronzeManifest]) -> pl.DataFrame:
    frames = [
        parse_open_meteo(read_landed(lake, m), m.extra["state"], m.extra["capital"]).with_columns(
            pl.lit(_synthetic(m)).alias("synthetic")
        )
        for m in manifests
    ]
    return pl.concat(frames).unique(["state", "date"], keep="last").sort("state", "date")


def weather_snapshots(lake: Lake, manifests: list[BronzeManifest]) -> pl.DataFrame:
    frames = [
        parse_openweather(read_landed(lake, m), int(m.extra["city_id"])).with_columns(
            pl.lit(_synthetic(m)).alias("synthetic")
        )
        for m in manifests
    ]
    # Sorted by the whole key: observations of one time (each snapshot city's) came out of
    # `unique` in any order, and silver's bytes and row numbers changed from run to run.
    return (
        pl.concat(frames)
        .unique(["city_id", "collected_at"], keep="last")
        .sort("collected_at", "city_id")
    )


# dataset -> (its builder, the bronze source and dataset whose valid objects it reads)
BUILDERS = {
    "ipca_monthly": (ipca_monthly, "bcb_sgs", "ipca_433"),
    "weather_daily": (weather_daily, "open_meteo", "daily"),
    "weather_snapshots": (weather_snapshots, "openweather", "current"),
}


def build_source_silver(
    lake: Lake, max_share: float = 0.01, inputs: dict[str, list[dict]] | None = None
) -> dict[str, GateResult]:
    """Gate results (clean frames inside) for every external dataset that has bronze data.

    `inputs`, when given, receives each built dataset's bronze objects (`bronze_ref` each)."""
    results: dict[str, GateResult] = {}
    for name, (build, source, dataset) in BUILDERS.items():
        manifests = _valid(lake, source, dataset)
        if not manifests:
            continue
        frame = build(lake, manifests)
        if inputs is not None:
            inputs[name] = [bronze_ref(m) for m in manifests]
        frame = frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
        results[name] = run_gate(name, frame, SOURCE_SCHEMAS[name], max_share=max_share)
    return results
