# ruff: noqa: E501 - one pinned table per line
"""Gold pinned: row counts and content checksums of every table for a fixed synthetic input.

Taken from the code before the speed work, so any change to spark/*.py must
leave these exactly as they are. If a change is meant to alter gold, it is not a speed
change: update the constants in the same commit and say why.
"""

from __future__ import annotations

import pytest

from tests.spark.pinned_input import gold_fingerprint
from validation.catalog import GOLD_TABLES

# {table: (rows, sha256 of schema + sorted canonical rows)} for generate_olist(300, seed=17).
PINNED: dict[str, tuple[int, str]] = {
    "dim_date": (791, "2815e08cf9a5c310327378da8abd759410d93213d03e30f1b353588e7594d099"),
    "dim_customer": (300, "ec2ae5f35bda1efd34738dfd648938c72f33ad7b1bbd414eb62a6cb83eb394ef"),
    "dim_product": (99, "6ea4eaa5330f9fcb711e9c0d64806b526c8469145e77b2529818b4448e4bba4c"),
    "dim_seller": (9, "937eb2f11814f1ec28b4ab5c15a3b955e90cc6d0e199c2691ca940d09be0d123"),
    "fact_sales": (328, "47c301edc72aba6347edec229947d164e0de8fd5b25376141fd569c63500135a"),
    "fact_orders": (300, "0881035c3136a5707ffd81eae901c498cd0a3892c97f2b832806a60be392240d"),
    "sales_monthly": (23, "ba97264416ad7f11fcdd6c4ace04f065749956a928bb65e1792334ecbdc6ea4d"),
    "sales_by_state": (23, "0a8168958d663cb7124aa30c01f32692db3030292555c321ab423245cb918e0b"),
    "customers_by_state": (23, "bcb876d5d168e5d460f52185d72085a127ad78ce1890132a85eb15d9ab04f80e"),
    "sales_by_category": (32, "5297ddb41f36b0c8214d2138900e8da26e52bc3e4bb92cfdea64ecfed475b1c5"),
    "order_status_summary": (4, "02e5ecd2686b8135a4df22b7671e4ab024868b2b2d332b0ec04fef1c250fce26"),
    "payment_type_summary": (4, "15c06153abc5dd2fe0e63c48927a2b78793370d494763eafd8b377780c841293"),
    "delivery_performance": (23, "c88cec8648a87e962578e5b16ffed098f697cab1b2595d2382f305cdb1229dae"),
    "sales_weather_daily": (278, "45b3f80ed9d2234127b0d44e585de4fbb4fc1aeac08af22f1f49f2d660b6ad61"),
}  # fmt: skip


@pytest.fixture(scope="module")
def fingerprint(synthetic_gold):
    return gold_fingerprint(synthetic_gold[0])


def test_every_gold_table_is_pinned():
    assert tuple(PINNED) == GOLD_TABLES


@pytest.mark.parametrize("name", GOLD_TABLES)
def test_gold_table_matches_its_pin(fingerprint, synthetic_gold, name):
    rows, checksum = fingerprint[name]
    assert rows > 0, f"{name} is empty: the pinned input no longer covers it"
    assert synthetic_gold[1][name] == rows
    assert (rows, checksum) == PINNED[name], f"gold table {name} changed"
