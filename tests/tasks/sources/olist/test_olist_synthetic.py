"""Synthetic Olist: real headers, referential integrity, real mixes, determinism, quirks."""

from __future__ import annotations

import csv
import re
from functools import cache
from pathlib import Path

import polars as pl
import pytest

from tasks.sources.olist.contract import OLIST_FILES
from tasks.sources.olist.synthetic import REAL_ORDER_COUNT, generate_olist

ORDERS = 20_000
SEED = 42

# Written out independently of the module, from the real Kaggle files (see olist.md).
EXPECTED_HEADERS = {
    "olist_customers_dataset.csv": [
        "customer_id",
        "customer_unique_id",
        "customer_zip_code_prefix",
        "customer_city",
        "customer_state",
    ],
    "olist_geolocation_dataset.csv": [
        "geolocation_zip_code_prefix",
        "geolocation_lat",
        "geolocation_lng",
        "geolocation_city",
        "geolocation_state",
    ],
    "olist_order_items_dataset.csv": [
        "order_id",
        "order_item_id",
        "product_id",
        "seller_id",
        "shipping_limit_date",
        "price",
        "freight_value",
    ],
    "olist_order_payments_dataset.csv": [
        "order_id",
        "payment_sequential",
        "payment_type",
        "payment_installments",
        "payment_value",
    ],
    "olist_order_reviews_dataset.csv": [
        "review_id",
        "order_id",
        "review_score",
        "review_comment_title",
        "review_comment_message",
        "review_creation_date",
        "review_answer_timestamp",
    ],
    "olist_orders_dataset.csv": [
        "order_id",
        "customer_id",
        "order_status",
        "order_purchase_timestamp",
        "order_approved_at",
        "order_delivered_carrier_date",
        "order_delivered_customer_date",
        "order_estimated_delivery_date",
    ],
    "olist_products_dataset.csv": [
        "product_id",
        "product_category_name",
        "product_name_lenght",
        "product_description_lenght",
        "product_photos_qty",
        "product_weight_g",
        "product_length_cm",
        "product_height_cm",
        "product_width_cm",
    ],
    "olist_sellers_dataset.csv": [
        "seller_id",
        "seller_zip_code_prefix",
        "seller_city",
        "seller_state",
    ],
    "product_category_name_translation.csv": [
        "product_category_name",
        "product_category_name_english",
    ],
}
REAL_STATUS = {
    "delivered": 96_478,
    "shipped": 1_107,
    "canceled": 625,
    "unavailable": 609,
    "invoiced": 314,
    "processing": 301,
    "created": 5,
    "approved": 2,
}
REAL_PAYMENT_TYPES = {
    "credit_card": 76_795,
    "boleto": 19_784,
    "voucher": 5_775,
    "debit_card": 1_529,
    "not_defined": 3,
}
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


@pytest.fixture(scope="module")
def olist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return generate_olist(tmp_path_factory.mktemp("olist"), orders=ORDERS, seed=SEED)


@pytest.fixture(scope="module")
def read(olist: dict[str, Path]):
    @cache
    def read_one(short: str) -> pl.DataFrame:
        name = next(n for n in olist if short in n)
        return pl.read_csv(olist[name], infer_schema=False)

    return read_one


def _money(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.Float64)


def _assert_mix_close(counts: dict[str, int], real: dict[str, int], total: int) -> None:
    for key, real_count in real.items():
        expected = total * real_count / sum(real.values())
        assert abs(counts.get(key, 0) - expected) <= max(2, 0.02 * expected), (key, counts)


def test_module_headers_are_the_real_olist_headers():
    assert {name: list(cols) for name, cols in OLIST_FILES.items()} == EXPECTED_HEADERS


def test_written_files_have_the_real_headers_first(olist):
    assert set(olist) == set(EXPECTED_HEADERS)
    for name, path in olist.items():
        assert path.name == name
        with open(path, encoding="utf-8", newline="") as handle:
            assert next(csv.reader(handle)) == EXPECTED_HEADERS[name], name


def test_strings_are_quoted_numbers_bare_nulls_empty_and_lines_end_in_lf(olist):
    raw = olist["olist_orders_dataset.csv"].read_bytes()
    assert raw.startswith(b'"order_id","customer_id","order_status"')
    assert raw.endswith(b"\n") and b"\r\n" not in raw
    assert b",," in raw  # orders that never reached a step leave the field empty
    items = olist["olist_order_items_dataset.csv"].read_text(encoding="utf-8").splitlines()
    hex_id = '"[0-9a-f]{32}"'
    row = rf'{hex_id},\d+,{hex_id},{hex_id},"[^"]+",\d+\.\d\d,\d+\.\d\d'
    assert all(re.fullmatch(row, line) for line in items[1:100]), items[1]


def test_row_counts_scale_with_orders(read):
    customers = read("customers")
    assert read("orders").height == customers.height == ORDERS
    assert customers["customer_unique_id"].n_unique() == pytest.approx(ORDERS * 0.966, rel=0.01)
    assert read("products").height == pytest.approx(ORDERS * 32_951 / REAL_ORDER_COUNT, rel=0.01)
    assert read("sellers").height == pytest.approx(ORDERS * 3_095 / REAL_ORDER_COUNT, rel=0.02)
    assert read("geolocation").height == pytest.approx(ORDERS * 10.06, rel=0.01)
    assert read("translation").height == 71


def test_ids_zips_and_timestamps_have_the_real_shapes(read):
    orders, customers = read("orders"), read("customers")
    for ids in (orders["order_id"], customers["customer_unique_id"], read("reviews")["review_id"]):
        assert ids.str.contains(r"^[0-9a-f]{32}$").all()
    zips = customers["customer_zip_code_prefix"].cast(pl.Int64)
    assert zips.min() < 10_000 and zips.max() <= 99_999  # leading zeros dropped, as in the CSVs
    purchase = orders["order_purchase_timestamp"]
    assert purchase.str.contains(TIMESTAMP.pattern).all()
    assert purchase.min() >= "2016-09-04" and purchase.max() < "2018-10-18"
    assert orders["order_estimated_delivery_date"].str.ends_with(" 00:00:00").all()
    assert (customers["customer_state"] == "SP").mean() == pytest.approx(0.42, abs=0.02)
    assert (read("sellers")["seller_state"] == "SP").mean() == pytest.approx(0.6, abs=0.05)


def test_every_reference_points_at_an_existing_row(read):
    orders, items = read("orders"), read("order_items")
    order_ids = set(orders["order_id"])
    assert orders["order_id"].is_unique().all()
    assert read("customers")["customer_id"].is_unique().all()
    assert set(orders["customer_id"]) == set(read("customers")["customer_id"])
    assert set(items["order_id"]) <= order_ids
    assert set(items["product_id"]) <= set(read("products")["product_id"])
    assert set(items["seller_id"]) <= set(read("sellers")["seller_id"])
    assert set(read("payments")["order_id"]) <= order_ids
    assert set(read("reviews")["order_id"]) <= order_ids
    zips = set(read("geolocation")["geolocation_zip_code_prefix"])
    assert set(read("customers")["customer_zip_code_prefix"]) <= zips
    assert set(read("sellers")["seller_zip_code_prefix"]) <= zips


def test_order_item_ids_count_from_one_inside_each_order(read):
    item_id = pl.col("order_item_id").cast(pl.Int64).sort()
    checked = (
        read("order_items")
        .group_by("order_id")
        .agg(counts_from_one=(item_id == pl.int_range(1, pl.len() + 1)).all())
    )
    assert checked["counts_from_one"].all()


def test_status_mix_matches_the_real_proportions(read):
    counts = dict(read("orders")["order_status"].value_counts().iter_rows())
    _assert_mix_close(counts, REAL_STATUS, ORDERS)


def test_payment_type_mix_matches_the_real_proportions(read):
    payments = read("payments")
    counts = dict(payments["payment_type"].value_counts().iter_rows())
    _assert_mix_close(counts, REAL_PAYMENT_TYPES, payments.height)
    undefined = payments.filter(pl.col("payment_type") == "not_defined").join(
        read("orders"), on="order_id"
    )
    assert undefined.height >= 1
    assert (undefined["order_status"] == "canceled").all()
    assert (undefined["payment_value"].cast(pl.Float64) == 0).all()


def test_step_timestamps_follow_the_status(read):
    orders = read("orders")
    steps = ["order_approved_at", "order_delivered_carrier_date", "order_delivered_customer_date"]
    delivered = orders.filter(pl.col("order_status") == "delivered")
    assert delivered.select(steps).null_count().row(0) == (0, 0, 0)
    created = orders.filter(pl.col("order_status") == "created")
    assert created.select(steps).null_count().row(0) == (created.height,) * 3
    shipped = orders.filter(pl.col("order_status") == "shipped")
    assert shipped.select(steps).null_count().row(0) == (0, 0, shipped.height)
    reached = orders.filter(pl.col("order_approved_at").is_not_null())
    assert (reached["order_approved_at"] >= reached["order_purchase_timestamp"]).all()
    late = delivered["order_delivered_customer_date"] > delivered["order_estimated_delivery_date"]
    assert late.mean() == pytest.approx(0.08, abs=0.01)


def test_payments_cover_the_items_of_every_paid_order(read):
    items = (
        read("order_items")
        .group_by("order_id")
        .agg((_money("price") + _money("freight_value")).sum().alias("items"))
    )
    paid = read("payments").group_by("order_id").agg(_money("payment_value").sum().alias("paid"))
    both = items.join(paid, on="order_id")
    assert both.height >= items.height - 1  # the real set has one order without payments
    assert (both["paid"] >= both["items"] - 0.01).all()
    exact = (both["paid"] - both["items"]).abs() < 0.005
    assert exact.mean() > 0.95


def test_every_order_but_one_has_a_payment(read):
    unpaid = set(read("orders")["order_id"]) - set(read("payments")["order_id"])
    assert len(unpaid) == 1


def test_orders_without_items_exist_and_are_mostly_unavailable_or_canceled(read):
    orders = read("orders")
    empty = orders.filter(~pl.col("order_id").is_in(read("order_items")["order_id"].implode()))
    assert empty.height == pytest.approx(ORDERS * 0.0078, rel=0.1)
    assert empty["order_status"].is_in(["unavailable", "canceled", "created"]).mean() > 0.9
    assert set(empty["order_id"]) <= set(read("payments")["order_id"])


def test_products_without_category_and_untranslated_categories_exist(read):
    products = read("products")
    blank = products.filter(pl.col("product_category_name").is_null())
    assert blank.height > 0
    assert blank["product_photos_qty"].null_count() == blank.height
    assert blank["product_name_lenght"].null_count() == blank.height
    categories = set(products["product_category_name"].drop_nulls())
    translated = set(read("translation")["product_category_name"])
    assert len(categories) == 73
    assert categories - translated == {
        "pc_gamer",
        "portateis_cozinha_e_preparadores_de_alimentos",
    }
    assert products["product_category_name"].value_counts(sort=True).row(0)[0] == (
        "cama_mesa_banho"
    )


def test_translation_holds_the_real_english_names(read):
    english = dict(read("translation").iter_rows())
    assert english["cama_mesa_banho"] == "bed_bath_table"
    assert english["beleza_saude"] == "health_beauty"
    assert english["informatica_acessorios"] == "computers_accessories"


def test_review_text_with_comma_quote_and_line_break_round_trips(olist, read):
    messages = read("reviews")["review_comment_message"]
    text = messages.drop_nulls()
    hostile = text.str.contains(",") & text.str.contains('"') & text.str.contains("\n")
    assert hostile.any()
    assert text.str.contains("\r\n").any()
    path = olist["olist_order_reviews_dataset.csv"]
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    assert [row[4] or None for row in rows] == messages.to_list()


def test_some_review_comments_leak_personal_data(read):
    messages = read("reviews")["review_comment_message"].drop_nulls()
    assert messages.str.contains(r"[\w.]+@[\w.]+").any()
    assert messages.str.contains(r"\(\d{2}\) 9\d{4}-\d{4}").any()
    assert messages.str.contains(r"\d{3}\.\d{3}\.\d{3}-\d{2}").any()


def test_reviews_repeat_ids_across_orders_and_follow_the_purchase(read):
    reviews = read("reviews")
    shared = reviews.group_by("review_id").agg(pl.col("order_id").n_unique().alias("orders"))
    assert shared.filter(pl.col("orders") > 1).height > 0
    assert reviews["order_id"].n_unique() < reviews.height  # some orders reviewed twice
    dated = reviews.join(read("orders"), on="order_id")
    assert (dated["review_creation_date"] > dated["order_purchase_timestamp"]).all()
    assert (dated["review_answer_timestamp"] > dated["review_creation_date"]).all()
    assert dated["review_creation_date"].str.ends_with(" 00:00:00").all()


def test_geolocation_has_duplicate_rows_and_a_few_points_abroad(read):
    geo = read("geolocation")
    assert geo.height - geo.unique().height > geo.height * 0.1
    lat, lng = _money("geolocation_lat"), _money("geolocation_lng")
    abroad = geo.filter((lat > 5.3) | (lat < -33.8) | (lng > -34.7) | (lng < -74.0))
    assert 1 <= abroad.height <= 20


def test_some_order_has_three_items_and_two_payments(read):
    items = read("order_items").group_by("order_id").len("items")
    payments = read("payments").group_by("order_id").len("payments")
    both = items.join(payments, on="order_id")
    assert both.filter((pl.col("items") >= 3) & (pl.col("payments") >= 2)).height > 0


def test_same_seed_gives_identical_bytes(olist, tmp_path):
    again = generate_olist(tmp_path, orders=ORDERS, seed=SEED)
    for name, path in olist.items():
        assert again[name].read_bytes() == path.read_bytes(), name


def test_another_seed_gives_other_data(olist, tmp_path):
    other = generate_olist(tmp_path, orders=ORDERS, seed=SEED + 1)
    for name, path in olist.items():
        if name != "product_category_name_translation.csv":  # fixed vocabulary
            assert other[name].read_bytes() != path.read_bytes(), name


@pytest.mark.parametrize("orders", [1, 37])
def test_tiny_sets_stay_consistent(tmp_path, orders):
    paths = generate_olist(tmp_path, orders=orders, seed=3)
    read = {name: pl.read_csv(path, infer_schema=False) for name, path in paths.items()}
    assert read["olist_orders_dataset.csv"].height == orders
    assert set(read["olist_order_items_dataset.csv"]["product_id"]) <= set(
        read["olist_products_dataset.csv"]["product_id"]
    )


def test_no_orders_is_refused(tmp_path):
    with pytest.raises(ValueError, match="at least 1 order"):
        generate_olist(tmp_path, orders=0)
