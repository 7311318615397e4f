"""A fixed synthetic silver layer and an order-independent checksum of gold tables.

The input: `generate_olist(orders=300, seed=17)` landed in bronze and built by silver's own
code (a fixed masking key, so pseudonyms do not depend on the test's keyring), plus IPCA and
weather silver computed from the date so every gold table, `sales_weather_daily` included,
has rows. Used to pin gold (test_gold_pinned.py) and to compare cluster runs with local ones.

The checksum: the job sums money as integer cents and rounds every average, so its floats
are deterministic whatever the partitioning: values are compared exactly (`repr`), no rounding.
"""

from __future__ import annotations

import hashlib
import math
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from blocks.lake import Lake
from tasks.silver.masking import get_policy
from tasks.silver.olist import build_olist_silver, write_silver_dataset
from tasks.sources.olist.ingest import check_olist_dir, land_olist_file
from tasks.sources.olist.synthetic import generate_olist

ORDERS, SEED = 300, 17
MASKING_KEY = b"cofre-pinned-gold-test-key-00001"  # a test constant, not a secret
WEATHER_STATES = {"SP": "São Paulo", "RJ": "Rio de Janeiro", "MG": "Belo Horizonte"}
FIRST_DAY, LAST_DAY = date(2016, 9, 1), date(2018, 10, 31)  # the synthetic purchase window


def _ipca() -> pl.DataFrame:
    months, index = [], 100.0
    for i in range(30):  # 2016-07 .. 2018-12
        year, month = 2016 + (6 + i) // 12, (6 + i) % 12 + 1
        pct = round(0.1 + (i % 7) * 0.07 - (0.3 if i % 11 == 0 else 0.0), 2)
        index = round(index * (1 + pct / 100), 2)
        months.append((date(year, month, 1), pct, index))
    return pl.DataFrame(
        months, schema={"month": pl.Date, "pct_change": pl.Float64, "index": pl.Float64},
        orient="row",
    )  # fmt: skip


def _weather() -> pl.DataFrame:
    rows = []
    for n, (state, capital) in enumerate(WEATHER_STATES.items()):
        day = FIRST_DAY
        while day <= LAST_DAY:
            wave = math.sin((day.toordinal() + 40 * n) / 58.0)
            high, low = round(27 + 5 * wave, 1), round(18 + 4 * wave, 1)
            rain = round(max(0.0, 12 * math.cos(day.toordinal() / 9.0 + n)), 1)
            rows.append((state, capital, day, high, low, round((high + low) / 2, 1), rain, True))
            day += timedelta(days=1)
    return pl.DataFrame(
        rows,
        schema={"state": pl.String, "capital": pl.String, "date": pl.Date,
                "temperature_max": pl.Float64, "temperature_min": pl.Float64,
                "temperature_mean": pl.Float64, "precipitation_sum": pl.Float64,
                "synthetic": pl.Boolean},
        orient="row",
    )  # fmt: skip


def write_synthetic_silver(workdir: Path, orders: int = ORDERS, seed: int = SEED) -> Path:
    """Build the pinned input (or another size and seed) under `workdir`; returns the silver
    directory (local lake)."""
    generate_olist(workdir / "olist", orders=orders, seed=seed)
    lake = Lake.from_url(str(workdir / "lake"))
    with pytest.MonkeyPatch.context() as patch:  # bronze and silver audit into a scratch home
        patch.setenv("COFRE_HOME", str(workdir / "home"))
        for file in check_olist_dir(workdir / "olist"):
            land_olist_file(lake, file, "pinned")
        silver = build_olist_silver(lake, get_policy("default"), MASKING_KEY)
        for name, dataset in silver.datasets.items():
            write_silver_dataset(lake, name, dataset.frame, "pinned")
        write_silver_dataset(lake, "sales_consolidated", silver.sales, "pinned")
        write_silver_dataset(lake, "ipca_monthly", _ipca(), "pinned")
        write_silver_dataset(lake, "weather_daily", _weather(), "pinned")
    return workdir / "lake" / "silver"


def _text(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, float):
        return repr(value)  # shortest round-trip text: exact
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def table_checksum(frame: pl.DataFrame) -> str:
    """sha256 of the schema and the sorted canonical text of every row (row order ignored)."""
    digest = hashlib.sha256()
    digest.update(repr([(c, str(t)) for c, t in frame.schema.items()]).encode())
    rows = sorted("\x1f".join(_text(v) for v in row) for row in frame.iter_rows())
    for row in rows:
        digest.update(row.encode() + b"\n")
    return digest.hexdigest()


def frames_fingerprint(frames: dict[str, pl.DataFrame]) -> dict[str, tuple[int, str]]:
    """{table: (rows, checksum)} of gold frames."""
    return {name: (frame.height, table_checksum(frame)) for name, frame in frames.items()}


def gold_fingerprint(gold_root: Path) -> dict[str, tuple[int, str]]:
    """{table: (rows, checksum)} for every gold table under `gold_root`, in GOLD_TABLES order."""
    from tests.spark.gold_reader import read_gold_table
    from validation.catalog import GOLD_TABLES

    return frames_fingerprint({n: read_gold_table(str(gold_root / n)) for n in GOLD_TABLES})
