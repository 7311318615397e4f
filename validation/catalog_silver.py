"""Every silver dataset declared once: grain, key, columns in order with type, nullability and
meaning, and the silver datasets a derived one is built from.

Standard library only, like `validation.catalog` (which re-exports what other stages need).
From it come the Olist parser's casts (`tasks.sources.olist.parse.TYPES`), the dtypes and
nullability of the silver Pandera schemas (`validation.schemas`), the consolidated table's
columns (`tasks.silver.sales`) and the data dictionary (`cofre docs`).

Types are what the parser casts to: `str`; `zip` (text, a zip prefix padded to 5 digits);
`int` (32-bit), `int8`, `long` (64-bit); `money` (float64, reais rounded to 2 decimals);
`float` (float64); `date`; `ts` (microseconds, naive Brazil local time, `YYYY-MM-DD
HH:MM:SS`); `ts_utc` (microseconds, UTC); `bool`. A trailing `?` marks a nullable column.
Columns are the typed frame's, before masking: the masking policy may drop a few (noted).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One declared column: its name, type (see the module docstring), nullability, meaning."""

    name: str
    type: str
    nullable: bool
    description: str


def columns(*rows: tuple[str, str, str]) -> tuple[Column, ...]:
    """Columns from `(name, type, description)` rows; a trailing `?` on the type: nullable."""
    return tuple(
        Column(name, kind.rstrip("?"), kind.endswith("?"), text) for name, kind, text in rows
    )


@dataclass(frozen=True)
class SilverDataset:
    """A silver dataset: one row per `grain`, unique on `key`; `reads` names the silver
    datasets a derived dataset is built from (empty: built from its bronze files); `joined`
    are columns joined in after the gate (written to silver, neither parsed nor gated)."""

    name: str
    grain: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    reads: tuple[str, ...] = ()
    joined: tuple[Column, ...] = ()


PSEUDONYM = "pseudonym under the default policy (HMAC token, the same across runs; seed: kept)"
ZIP_MASKED = "generalised to its first 3 digits under the default policy (seed: 5 digits)"
CITY_MASKED = "replaced by `[CIDADE_REMOVIDA_LGPD]` under the default policy"
SCRUBBED = (
    "free text, scrubbed: e-mails → `[EMAIL]`, phones → `[TELEFONE]`, CPF → `[CPF]`, CNPJ → "
    "`[CNPJ]` (seed: a review still holding such data is quarantined)"
)
STATUS = "one of delivered, shipped, canceled, unavailable, invoiced, processing, created, approved"

SILVER_DECLARED: dict[str, SilverDataset] = {
    d.name: d
    for d in (
        SilverDataset("orders", "order", ("order_id",), columns(
            ("order_id", "str", "the order's id"),
            ("customer_id", "str", f"joins `customers.customer_id`; {PSEUDONYM}"),
            ("order_status", "str", STATUS),
            ("order_purchase_timestamp", "ts", "when the order was placed"),
            ("order_approved_at", "ts?", "null until approved; never before purchase"),
            ("order_delivered_carrier_date", "ts?", "handed to the carrier; null until then"),
            ("order_delivered_customer_date", "ts?", "delivered; null until then"),
            ("order_estimated_delivery_date", "ts?", "the delivery date promised at purchase"),
        )),
        SilverDataset("order_items", "order item", ("order_id", "order_item_id"), columns(
            ("order_id", "str", "the order (must exist in `orders`)"),
            ("order_item_id", "int", "1..n within the order"),
            ("product_id", "str", "the product (must exist in `products`)"),
            ("seller_id", "str", "the seller (must exist in `sellers`)"),
            ("shipping_limit_date", "ts?", "the seller's deadline to hand over to the carrier"),
            ("price", "money", "R$, 0–10,000"),
            ("freight_value", "money", "R$, ≥ 0"),
        )),
        SilverDataset("payments", "payment of an order", ("order_id", "payment_sequential"),
            columns(
                ("order_id", "str", "the order paid"),
                ("payment_sequential", "int", "1..n within the order"),
                ("payment_type", "str", "credit_card, boleto, voucher, debit_card, not_defined"),
                ("payment_installments", "int", "0–24"),
                ("payment_value", "money", "R$, ≥ 0"),
            )),
        SilverDataset("customers", "customer id (Olist gives every order its own)",
            ("customer_id",), columns(
                ("customer_id", "str", PSEUDONYM),
                ("customer_unique_id", "str", f"the person; {PSEUDONYM}: one token per person "
                 "across tables and runs"),
                ("customer_zip_code_prefix", "zip", ZIP_MASKED),
                ("customer_city", "str?", CITY_MASKED),
                ("customer_state", "str", "a UF (seed: HMAC-SHA256 hex)"),
            )),
        SilverDataset("products", "product", ("product_id",), columns(
            ("product_id", "str", "the product's id"),
            ("product_category_name", "str?", "Portuguese category; null for about 2% of products"),
            ("product_name_length", "int?", "characters in the name (source: `lenght`)"),
            ("product_description_length", "int?", "characters in the description"),
            ("product_photos_qty", "int?", "photos published"),
            ("product_weight_g", "float?", "grams"),
            ("product_length_cm", "float?", "cm"),
            ("product_height_cm", "float?", "cm"),
            ("product_width_cm", "float?", "cm"),
        ), joined=columns(
            ("product_category_name_english", "str?", "from `category_translation`; null: no "
             "category or no translation (`pc_gamer`, "
             "`portateis_cozinha_e_preparadores_de_alimentos`)"),
        )),
        SilverDataset("sellers", "seller", ("seller_id",), columns(
            ("seller_id", "str", "the seller's id"),
            ("seller_zip_code_prefix", "zip", "5 digits"),
            ("seller_city", "str?", "dropped by the default policy (kept by `seed`)"),
            ("seller_state", "str", "a UF"),
        )),
        SilverDataset("reviews", "review of an order (review ids repeat across orders)",
            ("review_id", "order_id"), columns(
                ("review_id", "str", "the review's id"),
                ("order_id", "str", "the order reviewed"),
                ("review_score", "int8", "1–5"),
                ("review_comment_title", "str?", SCRUBBED),
                ("review_comment_message", "str?", SCRUBBED),
                ("review_creation_date", "ts?", "when the survey was sent"),
                ("review_answer_timestamp", "ts?", "when it was answered"),
            )),
        SilverDataset("geolocation", "zip prefix (the source repeats prefixes many times)",
            ("geolocation_zip_code_prefix",), columns(
                ("geolocation_zip_code_prefix", "zip", "5 digits"),
                ("geolocation_lat", "float", "median latitude of the prefix's points inside "
                 "Brazil (points outside are quarantined)"),
                ("geolocation_lng", "float", "median longitude, likewise"),
                ("geolocation_city", "str?", "dropped by the default policy"),
                ("geolocation_state", "str", "a UF"),
            )),
        SilverDataset("category_translation", "Portuguese category", ("product_category_name",),
            columns(
                ("product_category_name", "str", "Portuguese category name"),
                ("product_category_name_english", "str", "its English name"),
            )),
        SilverDataset("sales_consolidated", "order item (the seed's consolidated table "
            "without its fan-out)", ("order_id", "order_item_id"), columns(
                ("order_id", "str", "the order"),
                ("order_item_id", "int", "the item within the order"),
                ("customer_id", "str", "the order's customer (pseudonym)"),
                ("order_status", "str", "the order's status"),
                ("order_purchase_timestamp", "ts", "when the order was placed"),
                ("customer_city", "str?", "the customer's (masked) city"),
                ("customer_state", "str?", "the customer's state"),
                ("payment_type", "str?", "the order's main type: the one with the largest paid "
                 "value; null: no payment"),
                ("payment_value", "money", "the order's payments **allocated** to the item in "
                 "cents (largest remainder): Σ over its items = Σ of its payments"),
                ("product_id", "str", "the product"),
                ("seller_id", "str", "the seller"),
                ("price", "money", "R$"),
                ("freight_value", "money", "R$"),
                ("product_category_name", "str?", "the product's category"),
                ("review_score", "int8?", "the order's latest review (ties: the higher score); "
                 "null: none"),
            ), reads=("orders", "order_items", "payments", "customers", "products", "reviews")),
        SilverDataset("ipca_monthly", "month", ("month",), columns(
            ("month", "date", "first day of the month"),
            ("pct_change", "float", "the month's IPCA, % (−2 to +5: beyond is garbage)"),
            ("index", "float", "accumulated index, base 100 before the first month; > 0"),
        )),
        SilverDataset("weather_daily", "state capital × day", ("state", "date"), columns(
            ("state", "str", "a UF"),
            ("capital", "str", "the state's capital, where the weather was taken"),
            ("date", "date", "the day"),
            ("temperature_max", "float?", "°C, −20 to 55"),
            ("temperature_min", "float?", "°C, −20 to 55"),
            ("temperature_mean", "float?", "°C, −20 to 55"),
            ("precipitation_sum", "float?", "mm, ≥ 0"),
            ("synthetic", "bool", "true: the bundled synthetic sample, not Open-Meteo's data"),
        )),
        SilverDataset("weather_snapshots", "city × observation time", ("city_id", "collected_at"),
            columns(
                ("city", "str?", "city name, as OpenWeather spells it"),
                ("city_id", "long", "OpenWeather's city id"),
                ("temperature", "float?", "°C, −20 to 55"),
                ("description", "str?", "in Portuguese (lang=pt_br)"),
                ("humidity", "float?", "%, 0–100"),
                ("pressure", "float?", "hPa, 850–1100"),
                ("wind_speed", "float?", "m/s, ≥ 0"),
                ("collected_at", "ts_utc", "observation time (`dt`)"),
                ("synthetic", "bool", "true: the bundled snapshot, not a live reading"),
            )),
    )
}  # fmt: skip


def silver_types(dataset: str) -> dict[str, str]:
    """{column: type} of a silver dataset, in order (what the Olist parser casts to)."""
    return {c.name: c.type for c in SILVER_DECLARED[dataset].columns}
