"""Silver end to end on a synthetic set landed in bronze: totals, masking, gates, quarantine."""

from __future__ import annotations

import csv
import io
import re
import shutil

import polars as pl
import pytest

from blocks.errors import QualityGateFailed
from blocks.lake import Lake
from blocks.settings import load_settings
from tasks.layers.silver import read_silver
from tasks.silver.masking import CITY_REMOVED, keyed_hash, resolve_masking_key, text_has_pii
from tasks.silver.run import run_silver
from tasks.sources.olist.ingest import check_olist_dir, land_olist_file
from tasks.sources.olist.synthetic import generate_olist

ORDERS = 3000


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    directory = tmp_path_factory.mktemp("olist-src")
    generate_olist(directory, orders=ORDERS, seed=21)
    return directory


def _land(source_dir, lake_dir) -> Lake:
    lake = Lake.from_url(str(lake_dir))
    for file in check_olist_dir(source_dir):
        land_olist_file(lake, file, "run-1")
    return lake


def _read(source_dir, name) -> pl.DataFrame:
    return pl.read_csv(source_dir / name, infer_schema=False)


def test_sales_totals_reconcile_with_the_source_files(source, tmp_path):
    lake = _land(source, tmp_path / "lake")
    summary = run_silver(lake, load_settings(), "run-1")
    sales = read_silver(lake, "sales_consolidated")
    items = _read(source, "olist_order_items_dataset.csv")
    payments = _read(source, "olist_order_payments_dataset.csv")
    paid_with_items = payments.join(items.select("order_id").unique(), on="order_id", how="semi")

    def cents(frame, column):
        return int((frame[column].cast(pl.Float64) * 100).round().sum())

    assert sales.height == items.height
    assert cents(sales, "price") == cents(items, "price")
    assert cents(sales, "freight_value") == cents(items, "freight_value")
    assert cents(sales, "payment_value") == cents(paid_with_items, "payment_value")
    assert sales.select("order_id", "order_item_id").is_duplicated().sum() == 0
    assert summary.reconciliation["balanced"]
    assert summary.reconciliation["orders_without_items"] > 0  # reported, not lost
    orders = read_silver(lake, "orders")
    assert orders.height == ORDERS  # orders without items stay in silver orders


def _all_silver_text(lake: Lake) -> str:
    """Every cell of every silver dataset as text, plus the raw Parquet bytes."""
    chunks = []
    for key in lake.keys("silver"):
        raw = lake.read_bytes("silver", key)
        chunks.append(raw.decode("latin-1"))
        if key.endswith(".parquet"):
            frame = pl.read_parquet(io.BytesIO(raw))
            chunks.append(frame.select(pl.all().cast(pl.String)).write_csv())
    return "\n".join(chunks)


def test_no_personal_data_reaches_silver(source, tmp_path):
    lake = _land(source, tmp_path / "lake")
    run_silver(lake, load_settings(), "run-1")
    text = _all_silver_text(lake)
    customers = _read(source, "olist_customers_dataset.csv")
    leaked_ids = [u for u in customers["customer_unique_id"].unique() if u in text]
    leaked_customer_ids = [c for c in customers["customer_id"].unique()[:500] if c in text]
    assert leaked_ids == [] and leaked_customer_ids == []
    cities = set(customers["customer_city"].unique())
    leaked_cities = [c for c in cities if re.search(rf"(?<![\w]){re.escape(c)}(?![\w])", text)]
    assert leaked_cities == []
    with open(source / "olist_order_reviews_dataset.csv", encoding="utf-8", newline="") as f:
        emails = {
            m
            for row in csv.reader(f)
            for m in re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", ",".join(row))
        }
    assert emails, "the synthetic set should contain e-mails in review text"
    assert [e for e in emails if e in text] == []


def test_pseudonyms_are_stable_across_runs_and_change_with_the_key(source, tmp_path, monkeypatch):
    lake = _land(source, tmp_path / "lake")
    run_silver(lake, load_settings(), "run-1")
    first = read_silver(lake, "customers")["customer_unique_id"]
    run_silver(lake, load_settings(), "run-2")
    assert read_silver(lake, "customers")["customer_unique_id"].equals(first)
    monkeypatch.setenv("COFRE_HOME", str(tmp_path / "another-home"))  # another keyring
    run_silver(lake, load_settings(), "run-3")
    assert not set(read_silver(lake, "customers")["customer_unique_id"]) & set(first)


def test_seed_preset_follows_the_seed_rules(source, tmp_path):
    lake = _land(source, tmp_path / "lake")
    settings = load_settings(masking_policy="seed")
    run_silver(lake, settings, "run-1")
    customers = read_silver(lake, "customers")
    key, _ = resolve_masking_key(settings)
    raw = _read(source, "olist_customers_dataset.csv")
    assert set(customers["customer_city"]) == {CITY_REMOVED}
    assert customers["customer_state"].to_list() == [
        keyed_hash(s, key) for s in raw["customer_state"]
    ]


def _corrupt(source_dir, target):
    """A copy of the source with one bad row of each kind; returns what to expect."""
    shutil.copytree(source_dir, target)

    def edit(name, fn):
        path = target / name
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
        fn(rows)
        out = io.StringIO()
        csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n").writerows(rows)
        path.write_text(out.getvalue(), encoding="utf-8")

    expected = {}

    def items(rows):
        price = rows[0].index("price")
        rows[5][price] = "-10.00"
        expected["order_items"] = {5: "in_range(0, 10000)"}
        orphan = list(rows[6])
        orphan[0], orphan[1] = "f" * 32, "1"
        rows.append(orphan)
        expected["order_items"][len(rows) - 1] = "references_orders"

    def orders(rows):
        rows[3][rows[0].index("order_status")] = "lost_in_space"
        rows[4][rows[0].index("order_purchase_timestamp")] = "2017-13-45 25:00:00"
        expected["orders"] = {3: "isin", 4: "parse_ts"}
        expected["_bad_orders"] = {rows[3][0], rows[4][0]}

    def reviews(rows):
        message = rows[0].index("review_comment_message")
        rows[7][message] = "meu CPF é 123.456.789-09, liguem"
        expected["reviews"] = {7: "no_pii_in_free_text"}

    edit("olist_orders_dataset.csv", orders)
    edit("olist_order_items_dataset.csv", items)
    edit("olist_order_reviews_dataset.csv", reviews)
    payments = target / "olist_order_payments_dataset.csv"
    text = payments.read_text()
    payments.write_text(text + '"abc",1,"boleto"\n', encoding="utf-8")
    # A malformed record keeps its record number (header + rows before it = its data row).
    expected["payments"] = {len(text.splitlines()): "csv_field_count"}
    # The seed policy does not scrub text: reviews the generator wrote with an e-mail, phone
    # or CPF are held back as well (the gate keeps PII out of silver whatever the policy).
    reviews_src = _read(target, "olist_order_reviews_dataset.csv").with_row_index("row", offset=1)
    pii = reviews_src.filter(
        pl.any_horizontal(
            text_has_pii("review_comment_title"), text_has_pii("review_comment_message")
        )
    )
    expected["reviews"].update({row: "no_pii_in_free_text" for row in pii["row"]})
    # Items of a quarantined order are orphans now, so they are held back too.
    bad_orders = expected.pop("_bad_orders")
    items = _read(target, "olist_order_items_dataset.csv").with_row_index("row", offset=1)
    for row in items.filter(pl.col("order_id").is_in(list(bad_orders)))["row"]:
        expected["order_items"][row] = "references_orders"
    return expected


def test_gate_quarantines_exactly_the_bad_rows_with_reasons(source, tmp_path):
    expected = _corrupt(source, tmp_path / "bad")
    lake = _land(tmp_path / "bad", tmp_path / "lake")
    summary = run_silver(lake, load_settings(masking_policy="seed"), "run-q")
    for dataset, rows in expected.items():
        quarantine = pl.read_parquet(
            io.BytesIO(lake.read_bytes("quarantine", f"{dataset}/run_id=run-q/rows.parquet"))
        )
        got = {row: check for row, check in quarantine.select("_row", "_check").iter_rows()}
        assert set(got) == set(rows), dataset
        for row, check in rows.items():
            assert got[row].startswith(check), (dataset, row, got[row])
        assert summary.rows[dataset]["quarantined"] == len(rows)
    reviews_q = lake.read_bytes("quarantine", "reviews/run_id=run-q/rows.parquet")
    assert b"123.456.789-09" not in reviews_q  # quarantine scrubs free text too
    sales = read_silver(lake, "sales_consolidated")
    assert "f" * 32 not in set(sales["order_id"])


def test_default_policy_scrubs_the_cpf_instead_of_quarantining(source, tmp_path):
    _corrupt(source, tmp_path / "bad")
    lake = _land(tmp_path / "bad", tmp_path / "lake")
    summary = run_silver(lake, load_settings(), "run-d")
    assert summary.rows["reviews"]["quarantined"] == 0
    messages = read_silver(lake, "reviews")["review_comment_message"].drop_nulls()
    assert messages.str.contains("meu CPF é [CPF], liguem", literal=True).any()


def test_too_many_bad_rows_fail_the_gate_and_write_nothing(source, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(source, bad)
    path = bad / "olist_order_items_dataset.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    price = rows[0].index("price")
    for row in rows[1:200]:
        row[price] = "-1"
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    lake = _land(bad, tmp_path / "lake")
    with pytest.raises(
        QualityGateFailed, match=r"order_items: 199 of .* above the 1\.0% threshold"
    ):
        run_silver(lake, load_settings(), "run-x")
    assert lake.keys("silver") == []
