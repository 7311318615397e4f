"""Synthetic Olist: the 9 Kaggle CSVs with the real headers, proportions and quirks.

`generate_olist` writes files that look like olistbr/brazilian-ecommerce (counts scaled to the
requested number of orders) so the pipeline runs where the real data cannot be downloaded.
Everything is drawn from one seeded numpy generator with vectorised code: the same
(orders, seed) gives byte-identical files. Vocabulary lives in `olist_synthetic_text`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from tasks.sources.olist.synthetic_text import (
    CATEGORIES,
    CITY_NAMES,
    CITY_PLAIN_NAMES,
    STATES,
    Places,
    draw_places,
    pick_places,
    place_columns,
    review_texts,
)

OLIST_FILES: dict[str, tuple[str, ...]] = {
    "olist_customers_dataset.csv": (
        "customer_id", "customer_unique_id", "customer_zip_code_prefix", "customer_city",
        "customer_state",
    ),
    "olist_geolocation_dataset.csv": (
        "geolocation_zip_code_prefix", "geolocation_lat", "geolocation_lng", "geolocation_city",
        "geolocation_state",
    ),
    "olist_order_items_dataset.csv": (
        "order_id", "order_item_id", "product_id", "seller_id", "shipping_limit_date", "price",
        "freight_value",
    ),
    "olist_order_payments_dataset.csv": (
        "order_id", "payment_sequential", "payment_type", "payment_installments", "payment_value",
    ),
    "olist_order_reviews_dataset.csv": (
        "review_id", "order_id", "review_score", "review_comment_title",
        "review_comment_message", "review_creation_date", "review_answer_timestamp",
    ),
    "olist_orders_dataset.csv": (
        "order_id", "customer_id", "order_status", "order_purchase_timestamp",
        "order_approved_at", "order_delivered_carrier_date", "order_delivered_customer_date",
        "order_estimated_delivery_date",
    ),
    "olist_products_dataset.csv": (
        "product_id", "product_category_name", "product_name_lenght",
        "product_description_lenght", "product_photos_qty", "product_weight_g",
        "product_length_cm", "product_height_cm", "product_width_cm",
    ),
    "olist_sellers_dataset.csv": (
        "seller_id", "seller_zip_code_prefix", "seller_city", "seller_state",
    ),
    "product_category_name_translation.csv": (
        "product_category_name", "product_category_name_english",
    ),
}  # fmt: skip

REAL_ORDER_COUNT = 99_441

# Real counts (olist.md) that every size is scaled from.
STATUS_MIX = {"delivered": 96_478, "shipped": 1_107, "canceled": 625, "unavailable": 609,
              "invoiced": 314, "processing": 301, "created": 5, "approved": 2}  # fmt: skip
PAYMENT_MIX = {"credit_card": 76_795, "boleto": 19_784, "voucher": 5_775, "debit_card": 1_529,
               "not_defined": 3}  # fmt: skip
SCORE_MIX = {1: 11_424, 2: 3_151, 3: 8_179, 4: 19_142, 5: 57_328}  # worst first, see _scores
_ITEMS_PER_ORDER = {1: 88_863, 2: 7_516, 3: 1_322, 4: 505, 5: 204, 6: 198, 7: 22, 8: 8, 9: 3,
                    10: 8, 11: 4, 12: 5, 13: 1, 14: 2, 15: 2, 20: 2, 21: 1}  # fmt: skip
_CARD_INSTALLMENTS = {0: 2, 1: 25_455, 2: 12_413, 3: 10_461, 4: 7_098, 5: 5_239, 6: 3_920,
                      7: 1_626, 8: 4_268, 9: 644, 10: 5_328, 11: 23, 12: 133, 13: 16, 14: 15,
                      15: 74, 16: 5, 17: 8, 18: 27, 20: 17, 21: 3, 22: 1, 23: 1,
                      24: 18}  # fmt: skip
# Purchases per month, 2016-09 .. 2018-10: thin 2016, growth, Nov-2017 peak, 2018 plateau.
_MONTHLY_ORDERS = (4, 324, 0, 1, 800, 1_780, 2_682, 2_404, 3_700, 3_245, 4_026, 4_331, 4_285,
                   4_631, 7_544, 5_673, 7_269, 6_728, 7_211, 6_939, 6_873, 6_167, 6_292, 6_512,
                   16, 4)  # fmt: skip
_HOURLY = (2.4, 1.1, 0.5, 0.3, 0.2, 0.2, 0.5, 1.2, 3.0, 4.8, 6.2, 6.6, 6.0, 6.5, 6.6, 6.4,
           6.3, 6.1, 5.8, 5.9, 6.2, 6.2, 5.7, 4.2)  # fmt: skip
_FOREIGN_POINTS = ((41.61, -8.64), (42.18, -8.72), (38.72, -9.14), (28.12, -15.43), (-5.5, -25.0))
_DAY = 86_400
_PLAN_TYPES = ("credit_card", "voucher", "not_defined")
_STATUSES = tuple(STATUS_MIX)
_PAYMENT_TYPES = tuple(PAYMENT_MIX)
_CATEGORY_NAMES = tuple(name for name, _, _ in CATEGORIES)
_HEX = np.frombuffer(b"".join(b"%02x" % i for i in range(256)), dtype=np.uint8).reshape(256, 2)


@dataclass(frozen=True)
class _Timeline:
    """Order timestamps as epoch seconds; -1 where the order never reached the step."""

    purchase: np.ndarray
    approved: np.ndarray
    carrier: np.ndarray
    delivered: np.ndarray
    estimate: np.ndarray
    late: np.ndarray


def _scaled(orders: int, real: int, minimum: int = 1) -> int:
    return max(minimum, round(orders * real / REAL_ORDER_COUNT))


def _allocate(total: int, weights: np.ndarray | list[float]) -> np.ndarray:
    """Largest-remainder split of `total` by `weights`: exact mixes even for small sets."""
    quota = total * np.asarray(weights, dtype=float) / np.sum(weights)
    counts = np.floor(quota).astype(np.int64)
    leftovers = np.argsort(-(quota - counts), kind="stable")[: total - counts.sum()]
    counts[leftovers] += 1
    return counts


def _labels(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    return rng.permutation(np.repeat(np.arange(counts.size), counts))


def _draw(rng: np.random.Generator, mix: dict[int, int], size: int) -> np.ndarray:
    values = np.fromiter(mix, dtype=np.int64)
    weights = np.fromiter(mix.values(), dtype=float)
    return values[rng.choice(values.size, size, p=weights / weights.sum())]


def _every_then_popular(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """`size` picks by popularity, with every choice used once when there is room for it."""
    picks = rng.choice(weights.size, size, p=weights / weights.sum())
    head = min(size, weights.size)
    picks[rng.choice(size, head, replace=False)] = rng.permutation(weights.size)[:head]
    return picks


def _hex_ids(rng: np.random.Generator, count: int) -> pl.Series:
    """32-char lowercase hex ids (128 random bits each) like the real ones."""
    raw = np.frombuffer(rng.bytes(16 * count), dtype=np.uint8).reshape(count, 16)
    chars = np.ascontiguousarray(_HEX[raw].reshape(count, 32))
    return pl.Series(chars.view("S32").ravel().astype("U32"))


def _stamps(seconds: np.ndarray) -> pl.Series:
    """Epoch seconds -> Datetime; negative seconds mark a missing step (empty CSV field)."""
    series = pl.from_epoch(pl.Series(seconds, dtype=pl.Int64), time_unit="s")
    return series.scatter(np.flatnonzero(seconds < 0), None)


def _money(cents: np.ndarray) -> pl.Series:
    """Cents -> Decimal(12, 2), which the CSV writer prints with exactly two decimals."""
    return pl.Series(cents / 100).cast(pl.Decimal(12, 2))


def _names(vocabulary: tuple[str, ...], codes: np.ndarray) -> pl.Series:
    return pl.Series(values=vocabulary).gather(codes)


def _geolocation(rng: np.random.Generator, places: Places, rows: int) -> pl.DataFrame:
    """Several rows per prefix, ~26% exact duplicates, some unaccented cities, a few abroad."""
    popularity = rng.lognormal(0, 1.2, places.zip.size)
    per_prefix = 1 + rng.multinomial(rows - places.zip.size, popularity / popularity.sum())
    prefix = np.repeat(np.argsort(places.zip, kind="stable"), per_prefix[np.argsort(places.zip)])
    lat = np.clip(places.lat[prefix] + rng.normal(0, 0.02, rows), -33.6, 5.1)
    lng = np.clip(places.lng[prefix] + rng.normal(0, 0.02, rows), -73.8, -34.9)
    plain = rng.random(rows) < 0.2  # spelled without accents, as in the real file
    duplicate = (rng.random(rows) < 0.26) & np.r_[False, prefix[1:] == prefix[:-1]]
    source = np.maximum.accumulate(np.where(duplicate, 0, np.arange(rows)))
    lat, lng, plain = lat[source], lng[source], plain[source]
    abroad = rng.choice(rows, max(1, round(rows * 29 / 1_000_163)), replace=False)
    spots = np.array(_FOREIGN_POINTS)[rng.integers(0, len(_FOREIGN_POINTS), abroad.size)]
    lat[abroad], lng[abroad] = spots[:, 0], spots[:, 1]
    columns = place_columns(places, prefix, "geolocation")
    city = places.city[prefix] + plain * len(CITY_NAMES)
    return pl.DataFrame(
        {
            "geolocation_zip_code_prefix": columns["geolocation_zip_code_prefix"],
            "geolocation_lat": lat,
            "geolocation_lng": lng,
            "geolocation_city": _names(CITY_NAMES + CITY_PLAIN_NAMES, city),
            "geolocation_state": columns["geolocation_state"],
        }
    )


def _customers(
    rng: np.random.Generator, places: Places, customer_ids: pl.Series, people: int
) -> pl.DataFrame:
    """One row per order's customer_id; repeat buyers share a customer_unique_id and address."""
    orders = customer_ids.len()
    person_state = _labels(rng, _allocate(people, [s.customers for s in STATES]))
    person_place = pick_places(rng, places, person_state)
    person = rng.permutation(np.r_[np.arange(people), rng.integers(0, people, orders - people)])
    frame = pl.DataFrame(
        {"customer_id": customer_ids, "customer_unique_id": _hex_ids(rng, people).gather(person)}
    ).with_columns(**place_columns(places, person_place[person], "customer"))
    return frame[rng.permutation(orders)]


def _sellers(rng: np.random.Generator, places: Places, count: int) -> pl.DataFrame:
    """Sellers with the real state mix (~60% SP)."""
    state = _labels(rng, _allocate(count, [s.sellers for s in STATES]))
    frame = pl.DataFrame({"seller_id": _hex_ids(rng, count)})
    return frame.with_columns(**place_columns(places, pick_places(rng, places, state), "seller"))


def _category_counts(categorised: int) -> np.ndarray:
    weights = np.array([weight for _, weight, _ in CATEGORIES], dtype=float)
    if categorised < 2 * weights.size:
        return _allocate(categorised, weights)
    return 1 + _allocate(categorised - weights.size, weights)  # every category shows up


def _products(rng: np.random.Generator, count: int) -> pl.DataFrame:
    """Catalogue rows; ~1.85% lack a category and with it the name/description/photo counts."""
    uncategorised = round(count * 610 / 32_951)
    counts = np.r_[_category_counts(count - uncategorised), uncategorised]
    category = _labels(rng, counts)

    def lognormal_int(median: float, sigma: float, low: int, high: int) -> np.ndarray:
        return np.clip(np.rint(rng.lognormal(np.log(median), sigma, count)), low, high)

    no_category = pl.col("product_category_name") == ""
    described = ("product_name_lenght", "product_description_lenght", "product_photos_qty")
    return pl.DataFrame(
        {
            "product_id": _hex_ids(rng, count),
            "product_category_name": _names((*_CATEGORY_NAMES, ""), category),
            "product_name_lenght": np.clip(np.rint(rng.normal(48, 10, count)), 5, 76),
            "product_description_lenght": lognormal_int(600, 0.75, 4, 3_992),
            "product_photos_qty": np.minimum(rng.geometric(0.55, count), 20),
            "product_weight_g": lognormal_int(700, 1.3, 2, 40_425),
            "product_length_cm": lognormal_int(25, 0.5, 7, 105),
            "product_height_cm": lognormal_int(13, 0.7, 2, 105),
            "product_width_cm": lognormal_int(20, 0.45, 6, 118),
        }
    ).with_columns(
        pl.when(~no_category).then(pl.col(described)).cast(pl.Int64),
        pl.col("^product_(weight|length|height|width).*$").cast(pl.Int64),
        pl.when(~no_category).then(pl.col("product_category_name")),
    )


def _epoch(day: str) -> int:
    return int(np.datetime64(day, "s").astype(np.int64))


def _purchase_times(rng: np.random.Generator, count: int) -> np.ndarray:
    """Purchase instants over the real window with the real monthly, Black Friday and hour shape."""
    days = np.arange(_epoch("2016-09-04"), _epoch("2018-10-17") + _DAY, _DAY)
    month = days.astype("datetime64[s]").astype("datetime64[M]") - np.datetime64("2016-09")
    month = month.astype(np.int64)
    # Black Friday 2017 sells like ~5 ordinary November days, inside the month's real total.
    boost = np.where(days == _epoch("2017-11-24"), 5.0, 1.0)
    weights = np.asarray(_MONTHLY_ORDERS, float)[month] * boost / np.bincount(month, boost)[month]
    day = rng.choice(days.size, count, p=weights / weights.sum())
    day[: min(count, 2)] = (0, days.size - 1)[: min(count, 2)]  # span the real window
    hour = rng.choice(24, count, p=np.asarray(_HOURLY) / np.sum(_HOURLY))
    return days[day] + hour * 3_600 + rng.integers(0, 3_600, count)


def _timeline(rng: np.random.Generator, status: np.ndarray, purchase: np.ndarray) -> _Timeline:
    """Each step's timestamp, kept only for orders whose status says they reached it."""
    n = purchase.size
    code = {name: index for index, name in enumerate(_STATUSES)}
    canceled_reach = rng.choice(4, n, p=(0.23, 0.66, 0.10, 0.01))  # canceled at any step
    reach = np.select(
        [status == code["delivered"], status == code["shipped"], status == code["created"]],
        [3, 2, 0],
        default=np.where(status == code["canceled"], canceled_reach, 1),
    )
    approved = purchase + np.clip(rng.lognormal(np.log(1_200), 1.6, n), 30, 3 * _DAY)
    carrier = approved + np.clip(rng.lognormal(np.log(2 * _DAY), 0.6, n), 7_200, 6 * _DAY)
    # Estimates are >= 12 days out and carriers leave within 9: on-time stays before estimate.
    days_out = np.clip(np.rint(rng.normal(23, 8, n)), 12, 60).astype(np.int64)
    estimate = purchase // _DAY * _DAY + _DAY * days_out
    on_time = carrier + rng.beta(2, 3, n) * (estimate - carrier)
    late_by = _DAY * (1 + np.minimum(rng.exponential(7, n), 120)) + rng.integers(0, _DAY, n)
    delivered_rows = np.flatnonzero(reach == 3)
    late = np.zeros(n, dtype=bool)
    late[rng.choice(delivered_rows, round(delivered_rows.size * 0.081), replace=False)] = True
    delivered = np.where(late, estimate + late_by, on_time)

    def step(values: np.ndarray, needed: int) -> np.ndarray:
        return np.where(reach >= needed, values.astype(np.int64), -1)

    return _Timeline(
        purchase, step(approved, 1), step(carrier, 2), step(delivered, 3), estimate, late
    )


def _orders_frame(
    order_ids: pl.Series, customer_ids: pl.Series, status: np.ndarray, times: _Timeline
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "order_id": order_ids,
            "customer_id": customer_ids,
            "order_status": _names(_STATUSES, status),
            "order_purchase_timestamp": _stamps(times.purchase),
            "order_approved_at": _stamps(times.approved),
            "order_delivered_carrier_date": _stamps(times.carrier),
            "order_delivered_customer_date": _stamps(times.delivered),
            "order_estimated_delivery_date": _stamps(times.estimate),
        }
    )


def _without_items(rng: np.random.Generator, status: np.ndarray) -> np.ndarray:
    """~0.78% of orders lack items: unavailable and created first, then some canceled."""
    code = {name: index for index, name in enumerate(_STATUSES)}
    first = np.isin(status, (code["unavailable"], code["created"]))
    key = rng.random(status.size) + np.where(first, -2, np.where(status == code["canceled"], -1, 0))
    empty = np.zeros(status.size, dtype=bool)
    empty[np.argsort(key, kind="stable")[: _scaled(status.size, 775, 0)]] = True
    return empty


def _items(
    rng: np.random.Generator,
    order_ids: pl.Series,
    has_items: np.ndarray,
    purchase: np.ndarray,
    products: pl.DataFrame,
    sellers: pl.DataFrame,
) -> tuple[pl.DataFrame, np.ndarray]:
    """Item rows (1..n per order) and each order's Σ(price + freight) in cents."""
    owners = np.flatnonzero(has_items)
    per_order = _draw(rng, _ITEMS_PER_ORDER, owners.size)
    order = np.repeat(owners, per_order)
    first_row = np.repeat(np.cumsum(per_order) - per_order, per_order)
    item_no = np.arange(order.size) - first_row + 1
    again = (item_no > 1) & (rng.random(order.size) < 0.6)  # more units of the same product
    fresh = np.flatnonzero(~again)
    product = np.empty(order.size, dtype=np.int64)
    product[fresh] = _every_then_popular(rng, rng.lognormal(0, 1.2, products.height), fresh.size)
    product[again] = product[first_row[again]]
    seller_of = _every_then_popular(rng, rng.lognormal(0, 1.5, sellers.height), products.height)
    # Lognormal with the real median 74.99 and mean 120.65; the dearest product costs 6,735.
    list_price = np.clip(rng.lognormal(np.log(74.99), 0.975, products.height), 0.85, 6_735)
    if products.height >= 1_000:
        list_price[np.argmax(list_price)] = 6_735
    price = np.rint(list_price * 100).astype(np.int64)[product]
    freight = np.rint(np.clip(rng.lognormal(np.log(16.26), 0.64, order.size), 0, 409.68) * 100)
    freight = np.where(rng.random(order.size) < 0.0034, 0, freight).astype(np.int64)
    ship_by = purchase + 6 * _DAY + rng.integers(0, 3 * _DAY, purchase.size)
    frame = pl.DataFrame(
        {
            "order_id": order_ids.gather(order),
            "order_item_id": item_no,
            "product_id": products["product_id"].gather(product),
            "seller_id": sellers["seller_id"].gather(seller_of[product]),
            "shipping_limit_date": _stamps(ship_by[order]),
            "price": _money(price),
            "freight_value": _money(freight),
        }
    ).sort("order_id", "order_item_id")
    totals = np.bincount(order, weights=price + freight, minlength=has_items.size)
    return frame, np.rint(totals).astype(np.int64)


def _payment_plan(
    rng: np.random.Generator, status: np.ndarray, has_items: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each order's first payment type (-1: unpaid) and its number of payment rows."""
    n = status.size
    card, voucher, undefined = (_PAYMENT_TYPES.index(t) for t in _PLAN_TYPES)
    delivered = np.flatnonzero((status == _STATUSES.index("delivered")) & has_items)
    unpaid_count = min(delivered.size, max(int(n >= 2_000), round(n / REAL_ORDER_COUNT)))
    unpaid = rng.choice(delivered, unpaid_count, replace=False)  # the real set has one
    paid = np.ones(n, dtype=bool)
    paid[unpaid] = False
    payers = int(paid.sum())
    rows = max(payers, round(payers * 103_886 / 99_440))
    counts = _allocate(rows, list(PAYMENT_MIX.values()))
    # not_defined (value 0) only on canceled orders, itemless ones first so totals still hold.
    canceled = paid & (status == _STATUSES.index("canceled"))
    key = rng.random(n) - canceled - (canceled & ~has_items)
    wanted = min(max(counts[undefined], int(n >= 2_000)), int(canceled.sum()))
    undefined_orders = np.argsort(key, kind="stable")[:wanted]
    extra = min(rows - payers, counts[voucher])  # extra rows are vouchers, as in the real data
    counts[voucher] -= extra
    counts[undefined] = 0
    counts[card] += payers - undefined_orders.size - counts.sum()
    kind = np.full(n, -1)
    kind[undefined_orders] = undefined
    kind[np.flatnonzero(paid & (kind < 0))] = _labels(rng, counts[:undefined])
    rows_per = paid.astype(np.int64)
    hosts = np.flatnonzero((kind == card) | (kind == voucher))
    several = min(hosts.size, extra, max(1, round(extra * 0.666)))
    if several:
        chosen = rng.choice(hosts, several, replace=False)
        spread = rng.lognormal(0, 1.0, several)
        rows_per[chosen] += 1 + rng.multinomial(extra - several, spread / spread.sum())
    return kind, rows_per


def _payments(
    rng: np.random.Generator,
    order_ids: pl.Series,
    plan: tuple[np.ndarray, np.ndarray],
    has_items: np.ndarray,
    totals: np.ndarray,
) -> pl.DataFrame:
    """Payment rows whose values add up, to the cent, to the order's item total (+ interest)."""
    kind, rows_per = plan
    card, voucher = _PAYMENT_TYPES.index("credit_card"), _PAYMENT_TYPES.index("voucher")
    order = np.repeat(np.arange(kind.size), rows_per)
    first = np.repeat(np.cumsum(rows_per) - rows_per, rows_per)
    sequential = np.arange(order.size) - first + 1
    method = np.where(sequential == 1, kind[order], voucher)
    installments = np.where(method == card, _draw(rng, _CARD_INSTALLMENTS, order.size), 1)
    order_installments = np.zeros(kind.size, dtype=np.int64)
    order_installments[order[sequential == 1]] = installments[sequential == 1]
    # Itemless orders were still charged something; not_defined rows are worth 0.
    due = np.where(has_items, totals, np.rint(rng.lognormal(np.log(9_000), 0.9, kind.size)))
    interest = (kind == card) & (order_installments > 1) & (rng.random(kind.size) < 0.02)
    due = np.where(interest, np.rint(due * rng.uniform(1.01, 1.08, kind.size)), due)
    due = np.where(kind == _PAYMENT_TYPES.index("not_defined"), 0, due).astype(np.int64)
    share = rng.exponential(1.0, order.size) * np.where(sequential == 1, 3.0, 1.0)
    total_share = np.bincount(order, weights=share, minlength=kind.size)[order]
    cents = np.floor(due[order] * share / total_share).astype(np.int64)
    last = np.r_[order[1:] != order[:-1], True]
    paid_so_far = np.rint(np.bincount(order, weights=cents, minlength=kind.size)).astype(np.int64)
    cents[last] += (due - paid_so_far)[order[last]]  # rounding lands on the last row
    frame = pl.DataFrame(
        {
            "order_id": order_ids.gather(order),
            "payment_sequential": sequential,
            "payment_type": _names(_PAYMENT_TYPES, method),
            "payment_installments": installments,
            "payment_value": _money(cents),
        }
    )
    return frame[rng.permutation(frame.height)]


def _scores(rng: np.random.Generator, troubled: np.ndarray) -> np.ndarray:
    """The exact real score mix, low scores drawn more often for troubled orders."""
    key = rng.random(troubled.size) + 0.45 * troubled
    scores = np.empty(troubled.size, dtype=np.int64)
    mix = _allocate(troubled.size, list(SCORE_MIX.values()))
    scores[np.argsort(-key, kind="stable")] = np.repeat(list(SCORE_MIX), mix)
    return scores


def _reviews(
    rng: np.random.Generator,
    order_ids: pl.Series,
    status: np.ndarray,
    has_items: np.ndarray,
    times: _Timeline,
) -> pl.DataFrame:
    """~99.2% of orders reviewed, ~0.55% twice, ~0.8% of rows reusing another order's review."""
    n = status.size
    reviewed = rng.choice(n, min(n, _scaled(n, 98_673)), replace=False)
    twice = rng.choice(reviewed, min(reviewed.size, _scaled(n, 551, 0)), replace=False)
    order = np.r_[reviewed, twice]
    later = np.r_[np.zeros(reviewed.size), rng.integers(1, 30, twice.size)].astype(np.int64)
    bad = np.isin(status, (_STATUSES.index("canceled"), _STATUSES.index("unavailable")))
    score = _scores(rng, (times.late | bad | ~has_items)[order])
    title, message = review_texts(rng, score)
    reference = np.where(times.delivered >= 0, times.delivered, times.estimate)[order]
    created = (reference // _DAY + 1 + (rng.random(order.size) < 0.2) + later) * _DAY
    answer = np.clip(rng.lognormal(np.log(1.5 * _DAY), 1.0, order.size), 60, 120 * _DAY)
    frame = pl.DataFrame(
        {
            "review_id": _hex_ids(rng, order.size),
            "order_id": order_ids.gather(order),
            "review_score": score,
            "review_comment_title": title,
            "review_comment_message": message,
            "review_creation_date": _stamps(created),
            "review_answer_timestamp": _stamps(created + answer.astype(np.int64)),
        }
    )
    # A shared review copies the next later-purchased order's review, so its dates stay after
    # this order's purchase (the source was bought no earlier).
    by_time = np.argsort(times.purchase[order], kind="stable")
    copies = np.zeros(order.size, dtype=bool)
    copy_count = round(order.size * 814 / 99_224)
    copies[rng.choice(max(order.size - 1, 0), copy_count, replace=False)] = True
    source = np.minimum.accumulate(np.where(copies, order.size, np.arange(order.size))[::-1])[::-1]
    target, source = by_time[copies], by_time[source[copies]]
    keep = order[target] != order[source]
    row = np.arange(order.size)
    row[target[keep]] = source[keep]
    frame = frame.with_columns(pl.all().exclude("order_id").gather(row))
    return frame[rng.permutation(frame.height)]


def _translation() -> pl.DataFrame:
    known = [(name, english) for name, _, english in CATEGORIES if english is not None]
    header = OLIST_FILES["product_category_name_translation.csv"]
    return pl.DataFrame(known, schema=header, orient="row")


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
    places = draw_places(rng, _scaled(reference, 19_015, 60))
    order_ids, customer_ids = _hex_ids(rng, orders), _hex_ids(rng, orders)
    status = _labels(rng, _allocate(orders, list(STATUS_MIX.values())))
    times = _timeline(rng, status, _purchase_times(rng, orders))
    has_items = ~_without_items(rng, status)
    products = _products(rng, _scaled(orders, 32_951, 10))
    sellers = _sellers(rng, places, _scaled(orders, 3_095, 5))
    items, totals = _items(rng, order_ids, has_items, times.purchase, products, sellers)
    plan = _payment_plan(rng, status, has_items)
    frames = {
        "olist_customers_dataset.csv": _customers(
            rng, places, customer_ids, min(orders, _scaled(orders, 96_096))
        ),
        "olist_geolocation_dataset.csv": _geolocation(
            rng, places, max(places.zip.size, _scaled(reference, 1_000_163))
        ),
        "olist_order_items_dataset.csv": items,
        "olist_order_payments_dataset.csv": _payments(rng, order_ids, plan, has_items, totals),
        "olist_order_reviews_dataset.csv": _reviews(rng, order_ids, status, has_items, times),
        "olist_orders_dataset.csv": _orders_frame(order_ids, customer_ids, status, times),
        "olist_products_dataset.csv": products,
        "olist_sellers_dataset.csv": sellers,
        "product_category_name_translation.csv": _translation(),
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
