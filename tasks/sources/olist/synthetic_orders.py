"""Synthetic Olist orders and their items: statuses, the purchase-to-delivery timeline, prices.

Counts follow the real set (olist.md): the status mix, items per order, purchases per month
and hour, ~8% late deliveries, ~0.78% of orders without items.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from tasks.sources.olist.synthetic_draws import (
    DAY,
    draw_from_mix,
    epoch_seconds,
    every_then_popular,
    from_vocabulary,
    money,
    scaled_count,
    timestamps,
)

# Real counts (olist.md) that every size is scaled from.
STATUS_MIX = {"delivered": 96_478, "shipped": 1_107, "canceled": 625, "unavailable": 609,
              "invoiced": 314, "processing": 301, "created": 5, "approved": 2}  # fmt: skip
_ITEMS_PER_ORDER = {1: 88_863, 2: 7_516, 3: 1_322, 4: 505, 5: 204, 6: 198, 7: 22, 8: 8, 9: 3,
                    10: 8, 11: 4, 12: 5, 13: 1, 14: 2, 15: 2, 20: 2, 21: 1}  # fmt: skip
# Purchases per month, 2016-09 .. 2018-10: thin 2016, growth, Nov-2017 peak, 2018 plateau.
_MONTHLY_ORDERS = (4, 324, 0, 1, 800, 1_780, 2_682, 2_404, 3_700, 3_245, 4_026, 4_331, 4_285,
                   4_631, 7_544, 5_673, 7_269, 6_728, 7_211, 6_939, 6_873, 6_167, 6_292, 6_512,
                   16, 4)  # fmt: skip
_HOURLY = (2.4, 1.1, 0.5, 0.3, 0.2, 0.2, 0.5, 1.2, 3.0, 4.8, 6.2, 6.6, 6.0, 6.5, 6.6, 6.4,
           6.3, 6.1, 5.8, 5.9, 6.2, 6.2, 5.7, 4.2)  # fmt: skip
STATUSES = tuple(STATUS_MIX)


@dataclass(frozen=True)
class Timeline:
    """Order timestamps as epoch seconds; -1 where the order never reached the step."""

    purchase: np.ndarray
    approved: np.ndarray
    carrier: np.ndarray
    delivered: np.ndarray
    estimate: np.ndarray
    late: np.ndarray


def purchase_times(rng: np.random.Generator, count: int) -> np.ndarray:
    """Purchase instants over the real window with the real monthly, Black Friday and hour shape."""
    days = np.arange(epoch_seconds("2016-09-04"), epoch_seconds("2018-10-17") + DAY, DAY)
    month = days.astype("datetime64[s]").astype("datetime64[M]") - np.datetime64("2016-09")
    month = month.astype(np.int64)
    # Black Friday 2017 sells like ~5 ordinary November days, inside the month's real total.
    boost = np.where(days == epoch_seconds("2017-11-24"), 5.0, 1.0)
    weights = np.asarray(_MONTHLY_ORDERS, float)[month] * boost / np.bincount(month, boost)[month]
    day = rng.choice(days.size, count, p=weights / weights.sum())
    day[: min(count, 2)] = (0, days.size - 1)[: min(count, 2)]  # span the real window
    hour = rng.choice(24, count, p=np.asarray(_HOURLY) / np.sum(_HOURLY))
    return days[day] + hour * 3_600 + rng.integers(0, 3_600, count)


def order_timeline(rng: np.random.Generator, status: np.ndarray, purchase: np.ndarray) -> Timeline:
    """Each step's timestamp, kept only for orders whose status says they reached it."""
    n = purchase.size
    code = {name: index for index, name in enumerate(STATUSES)}
    canceled_reach = rng.choice(4, n, p=(0.23, 0.66, 0.10, 0.01))  # canceled at any step
    reach = np.select(
        [status == code["delivered"], status == code["shipped"], status == code["created"]],
        [3, 2, 0],
        default=np.where(status == code["canceled"], canceled_reach, 1),
    )
    approved = purchase + np.clip(rng.lognormal(np.log(1_200), 1.6, n), 30, 3 * DAY)
    carrier = approved + np.clip(rng.lognormal(np.log(2 * DAY), 0.6, n), 7_200, 6 * DAY)
    # Estimates are >= 12 days out and carriers leave within 9: on-time stays before estimate.
    days_out = np.clip(np.rint(rng.normal(23, 8, n)), 12, 60).astype(np.int64)
    estimate = purchase // DAY * DAY + DAY * days_out
    on_time = carrier + rng.beta(2, 3, n) * (estimate - carrier)
    late_by = DAY * (1 + np.minimum(rng.exponential(7, n), 120)) + rng.integers(0, DAY, n)
    delivered_rows = np.flatnonzero(reach == 3)
    late = np.zeros(n, dtype=bool)
    late[rng.choice(delivered_rows, round(delivered_rows.size * 0.081), replace=False)] = True
    delivered = np.where(late, estimate + late_by, on_time)

    def step(values: np.ndarray, needed: int) -> np.ndarray:
        return np.where(reach >= needed, values.astype(np.int64), -1)

    return Timeline(
        purchase, step(approved, 1), step(carrier, 2), step(delivered, 3), estimate, late
    )


def orders_frame(
    order_ids: pl.Series, customer_ids: pl.Series, status: np.ndarray, times: Timeline
) -> pl.DataFrame:
    """The orders file: one row per order, steps it never reached left empty."""
    return pl.DataFrame(
        {
            "order_id": order_ids,
            "customer_id": customer_ids,
            "order_status": from_vocabulary(STATUSES, status),
            "order_purchase_timestamp": timestamps(times.purchase),
            "order_approved_at": timestamps(times.approved),
            "order_delivered_carrier_date": timestamps(times.carrier),
            "order_delivered_customer_date": timestamps(times.delivered),
            "order_estimated_delivery_date": timestamps(times.estimate),
        }
    )


def orders_without_items(rng: np.random.Generator, status: np.ndarray) -> np.ndarray:
    """~0.78% of orders lack items: unavailable and created first, then some canceled."""
    code = {name: index for index, name in enumerate(STATUSES)}
    first = np.isin(status, (code["unavailable"], code["created"]))
    key = rng.random(status.size) + np.where(first, -2, np.where(status == code["canceled"], -1, 0))
    empty = np.zeros(status.size, dtype=bool)
    empty[np.argsort(key, kind="stable")[: scaled_count(status.size, 775, 0)]] = True
    return empty


def order_items_frame(
    rng: np.random.Generator,
    order_ids: pl.Series,
    has_items: np.ndarray,
    purchase: np.ndarray,
    products: pl.DataFrame,
    sellers: pl.DataFrame,
) -> tuple[pl.DataFrame, np.ndarray]:
    """Item rows (1..n per order) and each order's Σ(price + freight) in cents."""
    owners = np.flatnonzero(has_items)
    per_order = draw_from_mix(rng, _ITEMS_PER_ORDER, owners.size)
    order = np.repeat(owners, per_order)
    first_row = np.repeat(np.cumsum(per_order) - per_order, per_order)
    item_no = np.arange(order.size) - first_row + 1
    again = (item_no > 1) & (rng.random(order.size) < 0.6)  # more units of the same product
    fresh = np.flatnonzero(~again)
    product = np.empty(order.size, dtype=np.int64)
    product[fresh] = every_then_popular(rng, rng.lognormal(0, 1.2, products.height), fresh.size)
    product[again] = product[first_row[again]]
    seller_of = every_then_popular(rng, rng.lognormal(0, 1.5, sellers.height), products.height)
    # Lognormal with the real median 74.99 and mean 120.65; the dearest product costs 6,735.
    list_price = np.clip(rng.lognormal(np.log(74.99), 0.975, products.height), 0.85, 6_735)
    if products.height >= 1_000:
        list_price[np.argmax(list_price)] = 6_735
    price = np.rint(list_price * 100).astype(np.int64)[product]
    freight = np.rint(np.clip(rng.lognormal(np.log(16.26), 0.64, order.size), 0, 409.68) * 100)
    freight = np.where(rng.random(order.size) < 0.0034, 0, freight).astype(np.int64)
    ship_by = purchase + 6 * DAY + rng.integers(0, 3 * DAY, purchase.size)
    frame = pl.DataFrame(
        {
            "order_id": order_ids.gather(order),
            "order_item_id": item_no,
            "product_id": products["product_id"].gather(product),
            "seller_id": sellers["seller_id"].gather(seller_of[product]),
            "shipping_limit_date": timestamps(ship_by[order]),
            "price": money(price),
            "freight_value": money(freight),
        }
    ).sort("order_id", "order_item_id")
    totals = np.bincount(order, weights=price + freight, minlength=has_items.size)
    return frame, np.rint(totals).astype(np.int64)
