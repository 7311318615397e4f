"""Synthetic Olist reference tables: geolocation, customers, sellers, products, translations.

Places come from `synthetic_places` (states, cities, zip prefixes), categories from
`synthetic_text`; proportions from the real set (olist.md).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from tasks.sources.olist.contract import OLIST_FILES
from tasks.sources.olist.synthetic_draws import (
    allocate,
    from_vocabulary,
    hex_ids,
    shuffled_labels,
)
from tasks.sources.olist.synthetic_places import (
    CITY_NAMES,
    CITY_PLAIN_NAMES,
    STATES,
    Places,
    pick_places,
    place_columns,
)
from tasks.sources.olist.synthetic_text import CATEGORIES

_FOREIGN_POINTS = ((41.61, -8.64), (42.18, -8.72), (38.72, -9.14), (28.12, -15.43), (-5.5, -25.0))
_CATEGORY_NAMES = tuple(name for name, _, _ in CATEGORIES)


def geolocation_frame(rng: np.random.Generator, places: Places, rows: int) -> pl.DataFrame:
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
            "geolocation_city": from_vocabulary(CITY_NAMES + CITY_PLAIN_NAMES, city),
            "geolocation_state": columns["geolocation_state"],
        }
    )


def customers_frame(
    rng: np.random.Generator, places: Places, customer_ids: pl.Series, people: int
) -> pl.DataFrame:
    """One row per order's customer_id; repeat buyers share a customer_unique_id and address."""
    orders = customer_ids.len()
    person_state = shuffled_labels(rng, allocate(people, [s.customers for s in STATES]))
    person_place = pick_places(rng, places, person_state)
    person = rng.permutation(np.r_[np.arange(people), rng.integers(0, people, orders - people)])
    frame = pl.DataFrame(
        {"customer_id": customer_ids, "customer_unique_id": hex_ids(rng, people).gather(person)}
    ).with_columns(**place_columns(places, person_place[person], "customer"))
    return frame[rng.permutation(orders)]


def sellers_frame(rng: np.random.Generator, places: Places, count: int) -> pl.DataFrame:
    """Sellers with the real state mix (~60% SP)."""
    state = shuffled_labels(rng, allocate(count, [s.sellers for s in STATES]))
    frame = pl.DataFrame({"seller_id": hex_ids(rng, count)})
    return frame.with_columns(**place_columns(places, pick_places(rng, places, state), "seller"))


def _category_counts(categorised: int) -> np.ndarray:
    weights = np.array([weight for _, weight, _ in CATEGORIES], dtype=float)
    if categorised < 2 * weights.size:
        return allocate(categorised, weights)
    return 1 + allocate(categorised - weights.size, weights)  # every category shows up


def products_frame(rng: np.random.Generator, count: int) -> pl.DataFrame:
    """Catalogue rows; ~1.85% lack a category and with it the name/description/photo counts."""
    uncategorised = round(count * 610 / 32_951)
    counts = np.r_[_category_counts(count - uncategorised), uncategorised]
    category = shuffled_labels(rng, counts)

    def lognormal_int(median: float, sigma: float, low: int, high: int) -> np.ndarray:
        return np.clip(np.rint(rng.lognormal(np.log(median), sigma, count)), low, high)

    no_category = pl.col("product_category_name") == ""
    described = ("product_name_lenght", "product_description_lenght", "product_photos_qty")
    return pl.DataFrame(
        {
            "product_id": hex_ids(rng, count),
            "product_category_name": from_vocabulary((*_CATEGORY_NAMES, ""), category),
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


def translation_frame() -> pl.DataFrame:
    """Category -> English name, for the categories the real translation file lists."""
    known = [(name, english) for name, _, english in CATEGORIES if english is not None]
    header = OLIST_FILES["product_category_name_translation.csv"]
    return pl.DataFrame(known, schema=header, orient="row")
