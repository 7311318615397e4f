"""Silver built in threads equals silver built one dataset at a time, and fails the same way.

The threaded build and the vectorised HMAC are speed changes only: these tests pin them
against the serial build and the per-value `hmac` reference.
"""

from __future__ import annotations

import os

import polars as pl
import pytest

import tasks.silver.olist as silver_module
from blocks.errors import MalformedCsv
from blocks.lake import Lake
from tasks.silver.masking import get_policy, hmac_token_series, keyed_hash, pseudonym
from tasks.silver.olist import build_olist_silver
from tasks.sources.olist.contract import dataset_name
from tasks.sources.olist.ingest import check_olist_dir, land_olist_file
from tasks.sources.olist.parse import source_file
from tasks.sources.olist.synthetic import generate_olist

KEY = b"k" * 32


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    directory = tmp_path_factory.mktemp("olist-threads")
    generate_olist(directory, orders=1500, seed=5)
    return directory


def _lake(source_dir, lake_dir) -> Lake:
    lake = Lake.from_url(str(lake_dir))
    for file in check_olist_dir(source_dir):
        land_olist_file(lake, file, "run-1")
    return lake


def _build(lake: Lake, threads: int, monkeypatch):
    monkeypatch.setattr(silver_module, "BUILD_THREADS", threads)
    return build_olist_silver(lake, get_policy("default"), KEY)


def test_threaded_build_equals_the_serial_build(source, tmp_path, monkeypatch):
    lake = _lake(source, tmp_path / "lake")
    serial = _build(lake, 1, monkeypatch)
    threaded = _build(lake, 3, monkeypatch)
    assert list(threaded.datasets) == list(serial.datasets)
    for name, dataset in serial.datasets.items():
        other = threaded.datasets[name]
        assert other.frame.equals(dataset.frame), name
        assert other.gate.failures.equals(dataset.gate.failures), name
        assert other.masking == dataset.masking, name
        assert (other.quarantine is None) == (dataset.quarantine is None), name
        if dataset.quarantine is not None:
            assert other.quarantine.equals(dataset.quarantine), name
    assert threaded.sales.equals(serial.sales)
    assert threaded.reconciliation == serial.reconciliation


def test_the_datasets_are_handed_over_final_before_sales_are_consolidated(
    source, tmp_path, monkeypatch
):
    lake = _lake(source, tmp_path / "lake")
    handed: dict[str, pl.DataFrame] = {}
    consolidate = silver_module.consolidate_sales

    def consolidate_after_handover(*frames, **prepared):
        assert handed, "consolidation started before the datasets were handed over"
        return consolidate(*frames, **prepared)

    monkeypatch.setattr(silver_module, "consolidate_sales", consolidate_after_handover)
    silver = build_olist_silver(
        lake,
        get_policy("default"),
        KEY,
        on_datasets=lambda datasets: handed.update({n: d.frame for n, d in datasets.items()}),
    )
    assert list(handed) == list(silver.datasets)
    for name, dataset in silver.datasets.items():  # products already carry the translations
        assert handed[name].equals(dataset.frame), name
    assert "product_category_name_english" in handed["products"].columns


def test_the_first_failure_in_build_order_is_the_one_raised(source, tmp_path, monkeypatch):
    broken = tmp_path / "src"
    broken.mkdir()
    for path in source.iterdir():
        data = path.read_bytes()
        if path.name in ("olist_orders_dataset.csv", "olist_order_reviews_dataset.csv"):
            head, _, rest = data.partition(b"\n")
            data = head + b'\n"o"x,' + rest  # a quote inside an unquoted field: a break
        (broken / path.name).write_bytes(data)
    lake = _lake(broken, tmp_path / "lake")
    with pytest.raises(MalformedCsv, match=r"olist_orders_dataset\.csv"):
        _build(lake, 3, monkeypatch)


def test_datasets_start_largest_bronze_object_first(source, tmp_path):
    lake = _lake(source, tmp_path / "lake")
    bronze = {
        name: silver_module.newest_bronze(lake, "olist", dataset_name(source_file(name)))
        for name in silver_module.BUILD_ORDER
    }
    order = silver_module.start_order(bronze)
    sizes = [bronze[name].bytes for name in order]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) > 3
    assert order[0] == "geolocation"  # the largest file of the 1x-shaped synthetic set
    assert "order_items" not in order  # started once the tables it references are clean
    bronze["sellers"] = None  # nothing landed: last, where its build raises
    assert silver_module.start_order(bronze)[-1] == "sellers"


def test_vectorised_tokens_keep_nulls_and_equal_per_value_hmac():
    values = ["a", None, "ção", "", *(os.urandom(6).hex() for _ in range(20)), None]
    series = pl.Series("id", values, dtype=pl.String)
    for method, reference in (("pseudonym", pseudonym), ("keyed_hash", keyed_hash)):
        tokens = hmac_token_series(series, KEY, method).to_list()
        assert tokens == [None if v is None else reference(v, KEY) for v in values]
