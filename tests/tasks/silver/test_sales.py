"""Payment allocation at order-item grain: totals reconcile exactly, no fan-out."""

from __future__ import annotations

import polars as pl
import pytest

from tasks.silver.sales import allocate_payments_to_items, latest_review_scores


def _items(rows):
    return pl.DataFrame(
        rows,
        schema={"order_id": pl.String, "order_item_id": pl.Int32, "price": pl.Float64,
                "freight_value": pl.Float64},
        orient="row",
    )  # fmt: skip


def _payments(rows):
    return pl.DataFrame(
        rows,
        schema={"order_id": pl.String, "payment_type": pl.String, "payment_value": pl.Float64},
        orient="row",
    )


def test_three_items_two_payments_reconcile_to_the_cent():
    items = _items([("a", 1, 10.0, 1.0), ("a", 2, 20.0, 1.0), ("a", 3, 0.01, 0.0)])
    payments = _payments([("a", "credit_card", 25.0), ("a", "voucher", 7.33)])
    out = allocate_payments_to_items(items, payments)
    assert out.height == 3  # one row per item: no payments x items fan-out
    assert round(out["payment_value"].sum(), 2) == 32.33
    assert out["payment_value"].to_list() == [11.11, 21.21, 0.01]
    assert set(out["payment_type"]) == {"credit_card"}  # the order's main type


def test_allocation_is_proportional_to_item_value():
    items = _items([("o", 1, 75.0, 0.0), ("o", 2, 25.0, 0.0)])
    out = allocate_payments_to_items(items, _payments([("o", "boleto", 200.0)]))
    assert out["payment_value"].to_list() == [150.0, 50.0]


def test_remainders_go_to_the_largest_fractions_and_sum_exactly():
    items = _items([("o", i, 1.0, 0.0) for i in range(1, 4)])
    out = allocate_payments_to_items(items, _payments([("o", "boleto", 0.10)]))
    assert sorted(out["payment_value"].to_list()) == [0.03, 0.03, 0.04]
    assert round(out["payment_value"].sum(), 2) == 0.10


def test_free_items_split_the_payment_equally_and_unpaid_items_get_zero():
    items = _items([("f", 1, 0.0, 0.0), ("f", 2, 0.0, 0.0), ("u", 1, 9.0, 1.0)])
    out = allocate_payments_to_items(items, _payments([("f", "voucher", 3.0)]))
    by_order = dict(out.group_by("order_id").agg(pl.col("payment_value").sum()).iter_rows())
    assert by_order == {"f": 3.0, "u": 0.0}


def test_many_orders_reconcile_exactly():
    import random

    rng = random.Random(5)
    item_rows, pay_rows = [], []
    for n in range(2000):
        order = f"o{n}"
        for i in range(1, rng.randint(1, 5) + 1):
            item_rows.append(
                (order, i, round(rng.uniform(0, 500), 2), round(rng.uniform(0, 50), 2))
            )
        for _ in range(rng.randint(1, 3)):
            pay_rows.append(
                (order, rng.choice(["boleto", "voucher"]), round(rng.uniform(0, 300), 2))
            )
    out = allocate_payments_to_items(_items(item_rows), _payments(pay_rows))
    paid = (
        _payments(pay_rows).group_by("order_id").agg((pl.col("payment_value") * 100).round().sum())
    )
    got = out.group_by("order_id").agg((pl.col("payment_value") * 100).round().sum())
    assert paid.sort("order_id").equals(got.sort("order_id"))
    assert out.height == len(item_rows)


def test_latest_review_wins():
    from datetime import datetime

    reviews = pl.DataFrame(
        {
            "order_id": ["a", "a", "b"],
            "review_score": [1, 5, 3],
            "review_creation_date": [
                datetime(2018, 1, 1),
                datetime(2018, 2, 1),
                datetime(2018, 1, 1),
            ],
            "review_answer_timestamp": [None, None, None],
            "review_id": ["r1", "r2", "r3"],
        }
    )
    assert dict(latest_review_scores(reviews).iter_rows()) == {"a": 5, "b": 3}


def _gold_pick(rows: list[tuple]) -> dict[str, int | None]:
    """Gold's rule (spark/models/facts.py, `ranked_reviews`) by hand: creation, then answer
    time, latest first, nulls last; then the higher score (nulls last); then the smaller id."""

    def rank(row):
        _order, created, answered, score, review = row
        return (
            (created is None, -(created.timestamp()) if created else 0),
            (answered is None, -(answered.timestamp()) if answered else 0),
            (score is None, -(score or 0)),
            (review is None, review or ""),
        )

    picked: dict[str, tuple] = {}
    for row in rows:
        if row[0] not in picked or rank(row) < rank(picked[row[0]]):
            picked[row[0]] = row
    return {order: row[3] for order, row in picked.items()}


def test_reviews_as_recent_pick_the_higher_score_in_any_row_order():
    import random
    from datetime import datetime

    day, later = datetime(2018, 1, 1), datetime(2018, 1, 2)
    rows = [  # order, created, answered, score, review id
        ("tie-score", day, later, 2, "r9"), ("tie-score", day, later, 4, "r1"),
        ("tie-score", day, later, None, "r0"),
        ("tie-id", day, None, 3, "r7"), ("tie-id", day, None, 3, "r2"),
        ("tie-id", day, None, 3, "r5"),
        ("answer", day, day, 5, "a1"), ("answer", day, later, 1, "a2"),
        ("answer", day, None, 4, "a3"),
        ("null-created", None, later, 5, "n1"), ("null-created", day, None, 2, "n2"),
        ("all-null", None, None, None, "x2"), ("all-null", None, None, 1, "x3"),
    ]  # fmt: skip
    expected = _gold_pick(rows)
    assert expected == {"tie-score": 4, "tie-id": 3, "answer": 1, "null-created": 2,
                        "all-null": 1}  # fmt: skip
    schema = {"order_id": pl.String, "review_creation_date": pl.Datetime("us"),
              "review_answer_timestamp": pl.Datetime("us"), "review_score": pl.Int8,
              "review_id": pl.String}  # fmt: skip
    shuffled = random.Random(7)
    for _ in range(30):
        shuffled.shuffle(rows)
        frame = pl.DataFrame(rows, schema=schema, orient="row")
        assert dict(latest_review_scores(frame).iter_rows()) == expected


@pytest.mark.parametrize("value", [0.0])
def test_zero_payment_orders_allocate_zero(value):
    out = allocate_payments_to_items(
        _items([("z", 1, 5.0, 0.0)]), _payments([("z", "not_defined", value)])
    )
    assert out["payment_value"].to_list() == [0.0]


def _largest_remainder(paid: int, weights: list[int], item_ids: list[int]) -> list[int]:
    """The allocation by hand: floors, then one cent each to the largest remainders (ties
    to the lower item id); free items share equally."""
    weights = weights if sum(weights) > 0 else [1] * len(weights)
    total = sum(weights)
    floors = [paid * w // total for w in weights]
    order = sorted(range(len(weights)), key=lambda k: (-(paid * weights[k] % total), item_ids[k]))
    for k in order[: paid - sum(floors)]:
        floors[k] += 1
    return floors


@pytest.mark.parametrize("in_order", [False, True], ids=["shuffled", "in-order-id-order"])
def test_items_get_the_cents_the_largest_remainder_method_gives(in_order):
    """In any order; items in order id order take the windows over their runs' numbers."""
    import random

    rng = random.Random(11)
    item_rows, pay_rows = [], []
    for n in range(500):
        prices = rng.choice([[0.0], [1.0] * 3, [0.0] * 2, [9.99, 0.01, 5.0, 5.0]])
        prices = prices if rng.random() < 0.5 else [round(rng.uniform(0, 90), 2) for _ in prices]
        item_rows += [(f"o{n}", i + 1, price, 0.0) for i, price in enumerate(prices)]
        pay_rows.append((f"o{n}", "boleto", round(rng.uniform(0, 100), 2)))
    rng.shuffle(item_rows)  # allocation must not depend on the items' order
    if in_order:
        item_rows.sort(key=lambda row: row[0])
    assert _items(item_rows)["order_id"].is_sorted() is in_order
    out = allocate_payments_to_items(_items(item_rows), _payments(pay_rows))
    assert out.select("order_id", "order_item_id").rows() == [r[:2] for r in item_rows]
    got = {
        (o, i): round(v * 100)
        for o, i, v in out.select("order_id", "order_item_id", "payment_value").iter_rows()
    }
    for order, _, paid in pay_rows:
        items = sorted((i, round(p * 100)) for o, i, p, _ in item_rows if o == order)
        ids, weights = [i for i, _ in items], [w for _, w in items]
        expected = _largest_remainder(round(paid * 100), weights, ids)
        assert [got[(order, i)] for i in ids] == expected, order
