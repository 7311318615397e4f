"""IPCA (BCB SGS 433): parsing, the accumulated index, 10-year windows, incremental runs, and
the live client against a local server speaking the SGS format."""

from __future__ import annotations

import json
import logging
from datetime import date

import polars as pl
import pytest

from blocks import audit
from blocks.errors import InvalidSourceData, NetworkUnreachable, SourceUnavailable
from blocks.lake import Lake
from blocks.settings import load_settings
from tasks.bronze import list_manifests
from tasks.sources.ipca.client import split_windows
from tasks.sources.ipca.ingest import ingest_ipca, last_landed_month
from tasks.sources.ipca.parse import accumulated_index, parse_ipca
from tasks.sources.snapshots import snapshot_bytes
from tests.tasks.sources.fake_apis import (
    FakeSgs,
    closed_port_url,
    httpserver_listen_address,  # noqa: F401 - fixture
    sgs_values,
)

FAST_HTTP = {"http_retries": 2, "http_backoff_seconds": 0.01, "http_read_timeout_seconds": 2}


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake.from_url(str(tmp_path / "lake"))


@pytest.fixture
def sgs(httpserver):
    """A fake SGS with monthly values from 2000-01 to 2018-12."""
    fake = FakeSgs(sgs_values(date(2000, 1, 1), date(2018, 12, 1)))
    httpserver.expect_request("/sgs").respond_with_handler(fake)
    return fake


def settings_for(url: str, **values):
    return load_settings(sgs_base_url=url, **FAST_HTTP, **values)


def fallback_records() -> list[dict]:
    """SOURCE_FALLBACK records of this test's audit trail (none if nothing was audited)."""
    try:
        return [r for r in audit.read_records() if r["action"] == "SOURCE_FALLBACK"]
    except FileNotFoundError:
        return []


def annual(frame: pl.DataFrame) -> dict[int, float]:
    """Compounded % change per calendar year."""
    yearly = frame.group_by(pl.col("month").dt.year().alias("year")).agg(
        ((1 + pl.col("pct_change") / 100).product() - 1).alias("change")
    )
    return {row["year"]: round(row["change"] * 100, 2) for row in yearly.iter_rows(named=True)}


def test_the_bundled_snapshot_parses_to_the_published_annual_ipca():
    frame = parse_ipca(snapshot_bytes("bcb_sgs_433.json"))
    assert frame.schema == {"month": pl.Date, "pct_change": pl.Float64}
    assert frame.height == 36 and frame["month"][0] == date(2016, 1, 1)
    assert annual(frame) == {2016: 6.29, 2017: 2.95, 2018: 3.75}


def test_accumulated_index_compounds_from_base_100():
    indexed = accumulated_index(parse_ipca(snapshot_bytes("bcb_sgs_433.json")))
    assert indexed["index"].dtype == pl.Float64
    assert indexed["index"][0] == pytest.approx(101.27)  # Jan 2016: +1.27 %
    dec = dict(zip(indexed["month"], indexed["index"], strict=True))
    assert dec[date(2016, 12, 1)] == pytest.approx(106.29, abs=0.005)
    assert dec[date(2018, 12, 1)] / dec[date(2017, 12, 1)] == pytest.approx(1.0375, abs=5e-5)


def test_windows_never_exceed_ten_years_and_cover_the_range():
    windows = split_windows(date(1995, 1, 1), date(2026, 11, 27))
    assert [(w.start, w.end) for w in windows] == [
        (date(1995, 1, 1), date(2004, 12, 31)),
        (date(2005, 1, 1), date(2014, 12, 31)),
        (date(2015, 1, 1), date(2024, 12, 31)),
        (date(2025, 1, 1), date(2026, 11, 27)),
    ]
    assert windows[0].params() == {
        "formato": "json",
        "dataInicial": "01/01/1995",
        "dataFinal": "31/12/2004",
    }


def test_snapshot_mode_lands_the_real_values_labelled_snapshot(lake):
    result = ingest_ipca(lake, load_settings(), "run-1", "snapshot", today=date(2026, 11, 27))
    assert (result.mode, result.fell_back, result.rows, result.synthetic) == (
        "snapshot",
        False,
        36,
        False,
    )
    [manifest] = list_manifests(lake, "bcb_sgs", "ipca_433")
    assert manifest.valid and manifest.extra["mode"] == "snapshot"
    assert (manifest.extra["first_month"], manifest.extra["last_month"]) == (
        "2016-01-01",
        "2018-12-01",
    )
    landed = lake.read_bytes("bronze", manifest.key)
    assert landed == snapshot_bytes("bcb_sgs_433.json")  # bundled bytes, untouched
    assert annual(parse_ipca(landed)) == {2016: 6.29, 2017: 2.95, 2018: 3.75}
    again = ingest_ipca(lake, load_settings(), "run-2", "snapshot", today=date(2026, 11, 27))
    assert again.objects == [] and "nothing new" in again.reason


def test_live_splits_windows_lands_each_and_a_rerun_fetches_nothing(lake, httpserver, sgs):
    settings = settings_for(httpserver.url_for("/sgs"), ipca_start=date(2000, 1, 1))
    result = ingest_ipca(lake, settings, "run-1", "live", today=date(2019, 1, 20))
    assert sgs.windows == [
        (date(2000, 1, 1), date(2009, 12, 31)),
        (date(2010, 1, 1), date(2019, 1, 20)),
    ]
    assert (result.mode, len(result.objects), result.rows) == ("live", 2, 228)
    manifests = list_manifests(lake, "bcb_sgs", "ipca_433")
    assert {m.extra["window"] for m in manifests} == {
        "2000-01-01_2009-12-31",
        "2010-01-01_2019-01-20",
    }
    assert all(m.extra["mode"] == "live" and m.valid for m in manifests)
    assert last_landed_month(lake) == date(2018, 12, 1)

    rerun = ingest_ipca(lake, settings, "run-2", "live", today=date(2019, 1, 25))
    assert len(sgs.windows) == 2  # no request at all
    assert rerun.objects == [] and "nothing new" in rerun.reason
    assert len(list_manifests(lake, "bcb_sgs", "ipca_433")) == 2


def test_an_incremental_run_asks_only_for_the_months_after_the_last(lake, httpserver, sgs):
    settings = settings_for(httpserver.url_for("/sgs"), ipca_start=date(2016, 1, 1))
    ingest_ipca(lake, settings, "run-1", "live", today=date(2018, 6, 15))  # up to 2018-06
    sgs.values[date(2019, 1, 1)] = "0.32"
    result = ingest_ipca(lake, settings, "run-2", "live", today=date(2019, 2, 12))
    assert sgs.windows[-1] == (date(2018, 7, 1), date(2019, 2, 12))
    [new] = [m for m in list_manifests(lake, "bcb_sgs", "ipca_433") if m.run_id == "run-2"]
    assert (new.extra["first_month"], new.extra["last_month"]) == ("2018-07-01", "2019-01-01")
    assert result.rows == new.rows == 7


@pytest.mark.parametrize("answer", [b"[]", b'[{"data": "01/11/2018", "valor": "0.39"}]'])
def test_a_month_not_yet_published_is_nothing_new_not_an_error(lake, httpserver, sgs, answer):
    del sgs.values[date(2018, 12, 1)]  # December's IPCA comes out in mid-January
    settings = settings_for(httpserver.url_for("/sgs"), ipca_start=date(2018, 1, 1))
    ingest_ipca(lake, settings, "run-1", "live", today=date(2018, 12, 20))  # up to 2018-11
    # SGS answers a range it has nothing for with an empty list or its latest value again.
    httpserver.expect_oneshot_request("/sgs").respond_with_data(answer)
    result = ingest_ipca(lake, settings, "run-2", "live", today=date(2019, 1, 5))
    assert httpserver.log[-1][0].args["dataInicial"] == "01/12/2018"
    assert result.objects == [] and "nothing new" in result.reason
    assert [m.run_id for m in list_manifests(lake, "bcb_sgs", "ipca_433")] == ["run-1"]


def test_a_500_then_200_is_retried_and_lands(lake, httpserver):
    body = json.dumps([{"data": "01/01/2018", "valor": "0.29"}])
    httpserver.expect_oneshot_request("/sgs").respond_with_data("<h1>503</h1>", status=500)
    httpserver.expect_request("/sgs").respond_with_data(body, content_type="application/json")
    settings = settings_for(httpserver.url_for("/sgs"), ipca_start=date(2018, 1, 1))
    result = ingest_ipca(lake, settings, "run-1", "live", today=date(2018, 2, 20))
    assert result.rows == 1 and len(httpserver.log) == 2


@pytest.mark.parametrize(
    ("body", "names"),
    [
        (b"<html><body>Servi\xc3\xa7o indispon\xc3\xadvel</body></html>", "not JSON"),
        (b"[]", "empty list"),
        (b'[{"data": "01/01/2018"}]', "lacks field 'valor'"),
        (b'[{"data": "01/01/2018", "valor": "n/d"}]', "field 'valor' is not a number: 'n/d'"),
        (b'[{"data": "2018-01-01", "valor": "0.29"}]', "field 'data' is not a dd/mm/yyyy"),
    ],
)
def test_a_malformed_payload_is_kept_invalid_and_fails_naming_the_field(
    lake, httpserver, body, names
):
    httpserver.expect_request("/sgs").respond_with_data(body, content_type="text/html")
    settings = settings_for(httpserver.url_for("/sgs"), ipca_start=date(2018, 1, 1))
    with pytest.raises(InvalidSourceData, match="bcb_sgs/ipca_433") as caught:
        ingest_ipca(lake, settings, "run-1", "live", today=date(2018, 3, 1))
    assert names in str(caught.value)
    [manifest] = list_manifests(lake, "bcb_sgs", "ipca_433")
    assert manifest.valid is False and names in manifest.error
    assert lake.read_bytes("bronze", manifest.key) == body  # raw bytes kept
    assert last_landed_month(lake) is None  # an invalid landing never counts as landed


def test_auto_falls_back_to_the_snapshot_when_the_host_is_unreachable(lake, caplog):
    caplog.set_level(logging.WARNING)
    settings = settings_for(closed_port_url())
    result = ingest_ipca(lake, settings, "run-1", "auto", today=date(2026, 11, 27))
    assert result.fell_back and result.mode == "snapshot" and result.rows == 36
    assert "network unreachable" in result.reason and "connection refused" in result.reason
    assert "FALLING BACK TO THE BUNDLED SNAPSHOT" in caplog.text
    [record] = fallback_records()
    assert record["target"] == "bcb_sgs/ipca_433" and record["outcome"] == "warning"
    assert record["details"]["served_by"] == "snapshot"
    [manifest] = list_manifests(lake, "bcb_sgs", "ipca_433")
    assert manifest.extra["mode"] == "snapshot"


def test_auto_does_not_fall_back_on_an_http_500(lake, httpserver):
    httpserver.expect_request("/sgs").respond_with_data("down", status=500)
    settings = settings_for(httpserver.url_for("/sgs"))
    with pytest.raises(SourceUnavailable, match="HTTP 500") as caught:
        ingest_ipca(lake, settings, "run-1", "auto", today=date(2026, 11, 27))
    assert not isinstance(caught.value, NetworkUnreachable)
    assert fallback_records() == []
    assert list_manifests(lake, "bcb_sgs", "ipca_433") == []


def test_live_mode_never_falls_back(lake):
    with pytest.raises(NetworkUnreachable, match="bcb_sgs/ipca_433"):
        ingest_ipca(lake, settings_for(closed_port_url()), "r", "live", today=date(2026, 1, 9))
