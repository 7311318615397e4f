"""OpenWeather (current, keyed) and Open-Meteo (daily history) into bronze: parsers, the
bundled synthetic sample, the live clients against local servers, warnings, fallback and the
API key's hygiene."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, date, datetime

import polars as pl
import pytest

from blocks import audit
from blocks.errors import ConfigurationError, InvalidSourceData, SourceRejected
from blocks.lake import Lake
from blocks.settings import load_settings
from tasks.bronze import list_manifests
from tasks.sources.open_meteo.client import load_capitals
from tasks.sources.open_meteo.ingest import ingest_open_meteo
from tasks.sources.open_meteo.parse import parse_open_meteo
from tasks.sources.openweather.ingest import ingest_openweather
from tasks.sources.openweather.parse import parse_openweather
from tasks.sources.snapshots import SYNTHETIC_LABEL_KEY, snapshot_bytes
from tasks.sources.snapshots.generate import generated_files
from tests.conftest import files_containing
from tests.tasks.sources.fake_apis import (
    FakeOpenMeteo,
    FakeOpenWeather,
    closed_port_url,
    httpserver_listen_address,  # noqa: F401 - fixture
)

KEY = "ow-test-key-7c1d9e2a"
FAST_HTTP = {"http_retries": 1, "http_backoff_seconds": 0.01, "http_read_timeout_seconds": 2}
SEED_CITIES = [3448439, 3451190, 3470127, 3452925, 3390760]


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake.from_url(str(tmp_path / "lake"))


@pytest.fixture
def openweather(httpserver) -> FakeOpenWeather:
    fake = FakeOpenWeather(KEY)
    httpserver.expect_request("/weather").respond_with_handler(fake)
    return fake


def audited(action: str) -> list[dict]:
    try:
        return [r for r in audit.read_records() if r["action"] == action]
    except FileNotFoundError:  # nothing audited yet
        return []


# -- the bundled sample --------------------------------------------------------------------
def test_the_bundled_sample_is_what_the_generator_makes_and_small():
    generated = generated_files()
    assert len(generated) == 27 + 5
    for name, payload in generated.items():
        assert snapshot_bytes(name) == payload, (
            f"{name}: run python -m tasks.sources.snapshots.generate"
        )
    assert sum(len(p) for p in generated.values()) < 2_000_000
    assert all(SYNTHETIC_LABEL_KEY.encode() in payload for payload in generated.values())


def test_the_sample_covers_every_capital_over_the_olist_period_plausibly():
    capitals = load_capitals()
    assert len(capitals) == 27
    frame = pl.concat(
        parse_open_meteo(snapshot_bytes(f"open_meteo_{c.state}.json"), c.state, c.capital)
        for c in capitals
    )
    assert frame["date"].min() == date(2016, 9, 1) and frame["date"].max() == date(2018, 10, 31)
    assert frame.height == 27 * 791 and frame.null_count().sum_horizontal().item() == 0
    assert frame["temperature_min"].min() > -5 and frame["temperature_max"].max() < 45
    july = (
        frame.filter(pl.col("date").dt.month() == 7)
        .group_by("state")
        .agg(pl.col("temperature_mean").mean())
    )
    by_state = dict(july.iter_rows())
    assert by_state["RS"] < by_state["SP"] < by_state["RJ"] < by_state["AM"]  # south is colder
    assert frame.filter(pl.col("precipitation_sum") > 0).height > frame.height * 0.2


# -- parsers ------------------------------------------------------------------------------
def test_parse_openweather_returns_the_seed_fields_typed():
    frame = parse_openweather(snapshot_bytes("openweather_3448439.json"), 3448439)
    assert list(frame.columns) == [
        "city",
        "city_id",
        "temperature",
        "description",
        "humidity",
        "pressure",
        "wind_speed",
        "collected_at",
    ]
    row = frame.row(0, named=True)
    assert row["city"] == "São Paulo" and row["city_id"] == 3448439
    assert isinstance(row["temperature"], float) and row["description"]
    assert row["collected_at"] == datetime(2018, 10, 31, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("mutate", "names"),
    [
        (lambda d: d["main"].pop("temp"), "field 'main.temp' is missing"),
        (lambda d: d["main"].update(temp="quente"), "field 'main.temp' is not a number"),
        (lambda d: d.update(weather=[]), "field 'weather' is missing or empty"),
        (lambda d: d.pop("dt"), "field 'dt' is missing"),
    ],
)
def test_parse_openweather_names_the_bad_field(mutate, names):
    document = json.loads(snapshot_bytes("openweather_3448439.json"))
    mutate(document)
    with pytest.raises(InvalidSourceData, match="openweather/current city 3448439") as caught:
        parse_openweather(json.dumps(document).encode(), 3448439)
    assert names in str(caught.value)


def test_parse_open_meteo_returns_typed_daily_rows():
    frame = parse_open_meteo(snapshot_bytes("open_meteo_SP.json"), "SP", "São Paulo")
    assert frame.schema == {
        "state": pl.String,
        "capital": pl.String,
        "date": pl.Date,
        "temperature_max": pl.Float64,
        "temperature_min": pl.Float64,
        "temperature_mean": pl.Float64,
        "precipitation_sum": pl.Float64,
    }
    assert (frame["temperature_max"] >= frame["temperature_min"]).all()


@pytest.mark.parametrize(
    ("mutate", "names"),
    [
        (lambda d: d["daily"].pop("precipitation_sum"), "'daily.precipitation_sum' is missing"),
        (lambda d: d["daily"]["temperature_2m_max"].__setitem__(3, "x"), "is not a number"),
        (lambda d: d["daily"]["temperature_2m_min"].pop(), "has 790 values for 791 days"),
        (lambda d: d.pop("daily"), "field 'daily' is missing"),
    ],
)
def test_parse_open_meteo_names_the_bad_field(mutate, names):
    document = json.loads(snapshot_bytes("open_meteo_SP.json"))
    mutate(document)
    with pytest.raises(InvalidSourceData, match=r"open_meteo/daily SP \(São Paulo\)") as caught:
        parse_open_meteo(json.dumps(document).encode(), "SP", "São Paulo")
    assert names in str(caught.value)


# -- OpenWeather ingestion ------------------------------------------------------------------
def test_live_openweather_sends_the_seed_query_and_keeps_every_run(
    lake, httpserver, openweather, tmp_path
):
    settings = load_settings(openweather_base_url=httpserver.url_for("/weather"), **FAST_HTTP)
    first = ingest_openweather(lake, settings, "run-1", "live", api_key=KEY)
    second = ingest_openweather(lake, settings, "run-2", "live", api_key=KEY)
    assert openweather.seen[0] == {
        "id": "3448439",
        "appid": KEY,
        "units": "metric",
        "lang": "pt_br",
    }
    assert [int(args["id"]) for args in openweather.seen[:5]] == SEED_CITIES
    assert first.rows == second.rows == 5 and first.mode == "live"
    manifests = list_manifests(lake, "openweather", "current")
    assert len(manifests) == 10  # both runs' snapshots are kept; nothing overwritten
    assert {m.run_id for m in manifests} == {"run-1", "run-2"}
    assert all(m.extra["mode"] == "live" and m.extra["city_id"] in SEED_CITIES for m in manifests)
    assert files_containing(tmp_path, KEY) == []  # lake, manifests, audit trail


def test_a_401_is_a_real_error_even_in_auto_mode(lake, httpserver, openweather):
    settings = load_settings(openweather_base_url=httpserver.url_for("/weather"), **FAST_HTTP)
    with pytest.raises(SourceRejected, match="HTTP 401") as caught:
        ingest_openweather(lake, settings, "run-1", "auto", api_key="wrong-key-123")
    assert "wrong-key-123" not in str(caught.value) and "appid=***" in str(caught.value)
    assert "cofre secrets set api-key" in str(caught.value)
    assert openweather.calls == 1 and audited("SOURCE_FALLBACK") == []


def without_key_block():
    """Settings with no API-key block configured (COFRE_OPENWEATHER_API_KEY_BLOCK="")."""
    return load_settings(openweather_api_key_block="")


def test_auto_without_a_key_block_falls_back_and_says_why(lake):
    settings = without_key_block()
    result = ingest_openweather(lake, settings, "run-1", "auto")
    assert result.fell_back and result.mode == "snapshot" and result.synthetic
    assert "no OpenWeather API-key block is configured" in result.reason
    [record] = audited("SOURCE_FALLBACK")
    assert record["target"] == "openweather/current"
    manifests = list_manifests(lake, "openweather", "current")
    assert len(manifests) == 5
    assert all(m.extra["mode"] == "snapshot" and m.extra["synthetic"] for m in manifests)


def test_live_without_a_key_is_a_configuration_error(lake):
    with pytest.raises(ConfigurationError, match="cannot run live"):
        ingest_openweather(lake, without_key_block(), "r", "live")


def test_a_snapshot_run_repeated_lands_nothing_new(lake):
    settings = load_settings()
    first = ingest_openweather(lake, settings, "run-1", "snapshot")
    second = ingest_openweather(lake, settings, "run-2", "snapshot")
    assert {row["written"] for row in first.objects} == {True}
    assert {row["written"] for row in second.objects} == {False}  # same bytes: a no-op
    assert second.rows == 5


def test_out_of_range_temperatures_and_nulls_warn_in_log_and_audit(
    lake, httpserver, openweather, caplog
):
    openweather.temperature, openweather.humidity = 55.0, None
    caplog.set_level(logging.WARNING)
    settings = load_settings(
        openweather_base_url=httpserver.url_for("/weather"), openweather_city_ids=[1, 2]
    )
    result = ingest_openweather(lake, settings, "run-1", "live", api_key=KEY)
    assert len(result.warnings) == 2 and result.rows == 2
    assert "outside [-10, 50] °C" in caplog.text and "null measurement" in caplog.text
    checks = {r["details"]["check"]: r for r in audited("VALIDATION_FAILED")}
    assert set(checks) == {"temperature_range", "null_share"}
    assert checks["temperature_range"]["outcome"] == "warning"


def test_auto_with_the_host_unreachable_falls_back(lake):
    settings = load_settings(openweather_base_url=closed_port_url(), **FAST_HTTP)
    result = ingest_openweather(lake, settings, "run-1", "auto", api_key=KEY)
    assert result.fell_back and "network unreachable" in result.reason and result.rows == 5


def test_the_key_from_the_encrypted_block_never_leaks(
    lake, httpserver, prefect_api, cofre_home, caplog
):
    from blocks.secrets.credentials import ApiKey
    from blocks.secrets.keyring import ensure_keyring

    ensure_keyring()
    block = f"ow-{uuid.uuid4().hex[:8]}"
    ApiKey.encrypt(name=block, api_key=KEY).save(block, overwrite=True)
    caplog.set_level(logging.DEBUG)
    httpserver.expect_oneshot_request("/weather").respond_with_data("busy", status=503)
    httpserver.expect_request("/weather").respond_with_handler(FakeOpenWeather(KEY))
    settings = load_settings(
        openweather_base_url=httpserver.url_for("/weather"),
        openweather_api_key_block=block,
        **FAST_HTTP,
    )
    result = ingest_openweather(lake, settings, "run-1", "live")
    assert result.rows == 5 and not result.fell_back
    assert "appid=***" in caplog.text and KEY not in caplog.text
    assert files_containing(cofre_home, KEY) == []  # lake, manifests, audit trail
    assert audited("SECRET_READ")[0]["target"].endswith(block)

    missing = load_settings(openweather_api_key_block=f"absent-{block}")
    fallback = ingest_openweather(lake, missing, "run-2", "auto")
    assert fallback.fell_back and "cofre secrets set api-key absent-" in fallback.reason


# -- Open-Meteo ingestion -------------------------------------------------------------------
def test_live_open_meteo_fetches_each_capital_over_the_range(lake, httpserver):
    fake = FakeOpenMeteo()
    httpserver.expect_request("/archive").respond_with_handler(fake)
    settings = load_settings(
        open_meteo_base_url=httpserver.url_for("/archive"),
        weather_start=date(2017, 1, 1),
        weather_end=date(2017, 1, 31),
        **FAST_HTTP,
    )
    result = ingest_open_meteo(lake, settings, "run-1", "live")
    assert len(fake.calls) == 27 and result.rows == 27 * 31 and result.mode == "live"
    sp = next(call for call in fake.calls if call["latitude"] == "-23.55")
    assert sp == {
        "latitude": "-23.55",
        "longitude": "-46.63",
        "start_date": "2017-01-01",
        "end_date": "2017-01-31",
        "daily": "temperature_2m_max,temperature_2m_min,temperature_2m_mean,precipitation_sum",
        "timezone": "America/Sao_Paulo",
    }
    manifests = list_manifests(lake, "open_meteo", "daily")
    assert sorted(m.extra["state"] for m in manifests) == sorted(c.state for c in load_capitals())
    assert {m.extra["window"] for m in manifests} == {"2017-01-01/2017-01-31"}
    again = ingest_open_meteo(lake, settings, "run-2", "live")
    assert {row["written"] for row in again.objects} == {False}  # same days: nothing new


def test_open_meteo_html_error_page_is_kept_invalid_and_fails(lake, httpserver):
    page = b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>"
    httpserver.expect_request("/archive").respond_with_data(page, content_type="text/html")
    settings = load_settings(open_meteo_base_url=httpserver.url_for("/archive"), **FAST_HTTP)
    with pytest.raises(InvalidSourceData, match=r"open_meteo/daily AC .* not JSON"):
        ingest_open_meteo(lake, settings, "run-1", "live")
    [manifest] = list_manifests(lake, "open_meteo", "daily")
    assert not manifest.valid and lake.read_bytes("bronze", manifest.key) == page


def test_snapshot_open_meteo_serves_the_labelled_sample_clipped_to_the_range(lake):
    full = ingest_open_meteo(lake, load_settings(), "run-1", "snapshot")
    assert full.synthetic and full.rows == 27 * 791 and len(full.objects) == 27
    manifests = list_manifests(lake, "open_meteo", "daily")
    assert all(m.extra["mode"] == "snapshot" and m.extra["synthetic"] for m in manifests)
    assert lake.read_bytes("bronze", manifests[0].key) == snapshot_bytes(
        f"open_meteo_{manifests[0].extra['state']}.json"
    )
    january = load_settings(weather_start=date(2017, 1, 1), weather_end=date(2017, 1, 31))
    clipped = ingest_open_meteo(lake, january, "run-2", "snapshot", states=["SP", "RS"])
    assert clipped.rows == 2 * 31
