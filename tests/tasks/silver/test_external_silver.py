"""Silver for IPCA and weather from bronze landed in snapshot mode."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from blocks.errors import QualityGateFailed
from blocks.lake import Lake
from blocks.settings import load_settings
from tasks.bronze import land_bronze
from tasks.silver.external import build_source_silver
from tasks.sources.ipca.ingest import ingest_ipca
from tasks.sources.open_meteo.ingest import ingest_open_meteo
from tasks.sources.openweather.ingest import ingest_openweather


@pytest.fixture
def lake(tmp_path) -> Lake:
    lake = Lake.from_url(str(tmp_path / "lake"))
    settings = load_settings(sources="snapshot", openweather_api_key_block="")
    ingest_ipca(lake, settings, "r1", mode="snapshot", today=date(2019, 1, 15))
    ingest_open_meteo(lake, settings, "r1", mode="snapshot")
    ingest_openweather(lake, settings, "r1", mode="snapshot")
    return lake


def test_ipca_monthly_compounds_to_the_published_annual_figures(lake):
    ipca = build_source_silver(lake)["ipca_monthly"].clean
    annual = (
        ipca.group_by(pl.col("month").dt.year().alias("year"))
        .agg(((1 + pl.col("pct_change") / 100).product() - 1).mul(100).round(2).alias("pct"))
        .sort("year")
    )
    assert dict(annual.iter_rows()) == {2016: 6.29, 2017: 2.95, 2018: 3.75}
    december_2018 = ipca.filter(pl.col("month") == date(2018, 12, 1))["index"].item()
    # The published annual rates are rounded, so the index agrees to about a cent.
    assert abs(december_2018 - 100 * 1.0629 * 1.0295 * 1.0375) < 0.02


def test_weather_is_one_row_per_state_and_day_and_labelled_synthetic(lake):
    results = build_source_silver(lake)
    daily = results["weather_daily"].clean
    assert daily["state"].n_unique() == 27
    assert daily.select("state", "date").is_duplicated().sum() == 0
    assert daily["synthetic"].all()  # the bundled sample is not real weather
    snapshots = results["weather_snapshots"].clean
    assert snapshots["city_id"].n_unique() == 5 and snapshots["synthetic"].all()
    # One observation time for the five cities: the rows (and their numbers) in key order,
    # the same in every run.
    assert snapshots["collected_at"].n_unique() == 1
    assert snapshots["city_id"].to_list() == sorted(snapshots["city_id"])
    for _ in range(5):
        assert build_source_silver(lake)["weather_snapshots"].clean.equals(snapshots)


def test_an_absurd_ipca_value_fails_the_gate(tmp_path):
    lake = Lake.from_url(str(tmp_path / "lake"))
    land_bronze(
        lake, source="bcb_sgs", dataset="ipca_433", filename="ipca.json", run_id="r",
        data=b'[{"data": "01/01/2017", "valor": "0.38"}, {"data": "01/02/2017", "valor": "33.0"}]',
    )  # fmt: skip
    with pytest.raises(QualityGateFailed, match="ipca_monthly: 1 of 2 rows"):
        build_source_silver(lake)
