"""Synthetic Olist: the 9 Kaggle CSVs with the real headers, proportions and quirks.

`generate_olist` writes files that look like olistbr/brazilian-ecommerce (counts scaled to the
requested number of orders) so the pipeline runs where the real data cannot be downloaded.
Everything is drawn from one seeded numpy generator with vectorised code: the same
(orders, seed) gives byte-identical files, so the draws below keep their order. The tables
are built in `synthetic_reference`, `synthetic_orders`, `synthetic_payments` and
`synthetic_reviews`; places and vocabulary live in `synthetic_places` and
`synthetic_text`; headers in `contract`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from tasks.sources.olist.contract import OLIST_FILES
from tasks.sources.olist.synthetic_draws import (
    REAL_ORDER_COUNT,
    allocate,
    hex_ids,
    scaled_count,
    shuffled_labels,
)
from tasks.sources.olist.synthetic_orders import (
    STATUS_MIX,
    order_items_frame,
    order_timeline,
    orders_frame,
    orders_without_items,
    purchase_times,
)
from tasks.sources.olist.synthetic_payments import payment_plan, payments_frame
from tasks.sources.olist.synthetic_places import draw_places
from tasks.sources.olist.synthetic_reference import (
    customers_frame,
    geolocation_frame,
    products_frame,
    sellers_frame,
    translation_frame,
)
from tasks.sources.olist.synthetic_reviews import reviews_frame

__all__ = ["REAL_ORDER_COUNT", "generate_olist"]


def generate_olist(
    out_dir: Path | str, orders: int = REAL_ORDER_COUNT, seed: int = 42
) -> dict[str, Path]:
    """Write the 9 Olist-shaped CSVs to out_dir (created if needed); return file name -> path.

    Sizes scale with `orders` (geolocation stops growing at the real 99,441 orders). The same
    (orders, seed) always gives byte-identical files. Raises ValueError when orders < 1.
    """
    if orders < 1:
        raise ValueError(f"generate_olist needs at least 1 order, got orders={orders}.")
    rng = np.random.default_rng(seed)
    reference = min(orders, REAL_ORDER_COUNT)  # geolocation is a reference table
    places = draw_places(rng, scaled_count(reference, 19_015, 60))
    order_ids, customer_ids = hex_ids(rng, orders), hex_ids(rng, orders)
    status = shuffled_labels(rng, allocate(orders, list(STATUS_MIX.values())))
    times = order_timeline(rng, status, purchase_times(rng, orders))
    has_items = ~orders_without_items(rng, status)
    products = products_frame(rng, scaled_count(orders, 32_951, 10))
    sellers = sellers_frame(rng, places, scaled_count(orders, 3_095, 5))
    items, totals = order_items_frame(rng, order_ids, has_items, times.purchase, products, sellers)
    plan = payment_plan(rng, status, has_items)
    frames = {
        "olist_customers_dataset.csv": customers_frame(
            rng, places, customer_ids, min(orders, scaled_count(orders, 96_096))
        ),
        "olist_geolocation_dataset.csv": geolocation_frame(
            rng, places, max(places.zip.size, scaled_count(reference, 1_000_163))
        ),
        "olist_order_items_dataset.csv": items,
        "olist_order_payments_dataset.csv": payments_frame(rng, order_ids, plan, has_items, totals),
        "olist_order_reviews_dataset.csv": reviews_frame(rng, order_ids, status, has_items, times),
        "olist_orders_dataset.csv": orders_frame(order_ids, customer_ids, status, times),
        "olist_products_dataset.csv": products,
        "olist_sellers_dataset.csv": sellers,
        "product_category_name_translation.csv": translation_frame(),
    }
    return _write(frames, Path(out_dir))


def _write(frames: dict[str, pl.DataFrame], out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, columns in OLIST_FILES.items():
        paths[name] = out_dir / name
        frames[name].select(columns).write_csv(
            paths[name], quote_style="non_numeric", datetime_format="%Y-%m-%d %H:%M:%S"
        )
    return paths
