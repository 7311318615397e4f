"""The gold gate: Pandera schemas for every gold table plus reconciliation with silver.

Gold has no quarantine: a gold table is derived, so any failure means the job (or silver) is
wrong, and the run stops before anything is published. `gold_gate` collects every problem
(schema failures of every table, then every reconciliation check) and raises
`QualityGateFailed` listing them all. Money is compared in integer cents.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaError, SchemaErrors

from blocks.errors import QualityGateFailed
from validation.schemas import MAX_PRICE, ORDER_STATUSES, PAYMENT_TYPES, UFS

BUCKETS = ("total", "fulfilled", "awaiting_release", "lost")
WEEKDAYS = (
    "segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado",
    "domingo",
)  # fmt: skip
ZIP_PREFIX = r"^\d{3,5}$"  # 3 digits under the default masking policy, 5 under `seed`

KEY = pa.Column(pl.String, nullable=False)
COUNT = pa.Column(pl.Int64, pa.Check.ge(0), nullable=False)
BRL = pa.Column(pl.Float64, pa.Check.ge(0), nullable=False)
STATE = pa.Column(pl.String, pa.Check.isin(UFS), nullable=True)  # null: masked in silver
SHARE = pa.Column(pl.Float64, pa.Check.in_range(0, 1), nullable=True)
TS = pa.Column(pl.Datetime("us"), nullable=True)
SALES_TOTALS = {
    "orders": COUNT,
    "items": COUNT,
    "price_total": BRL,
    "freight_total": BRL,
    "revenue": BRL,
}


def _schema(name: str, columns: dict[str, pa.Column], **options: Any) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(columns, strict=True, ordered=True, name=name, **options)


GOLD_SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "dim_date": _schema("dim_date", {
        "date_key": pa.Column(pl.Int32, unique=True),
        "date": pa.Column(pl.Date, unique=True),
        "year": pa.Column(pl.Int32),
        "quarter": pa.Column(pl.Int32, pa.Check.in_range(1, 4)),
        "month": pa.Column(pl.Int32, pa.Check.in_range(1, 12)),
        "day": pa.Column(pl.Int32, pa.Check.in_range(1, 31)),
        "month_start": pa.Column(pl.Date),
        "day_of_week": pa.Column(pl.Int32, pa.Check.in_range(1, 7)),
        "weekday_name": pa.Column(pl.String, pa.Check.isin(WEEKDAYS)),
        "month_name": pa.Column(pl.String),
        "is_weekend": pa.Column(pl.Boolean),
        "ipca_pct_change": pa.Column(pl.Float64, nullable=True),
        "ipca_index": pa.Column(pl.Float64, pa.Check.gt(0), nullable=True),
    }),
    "dim_customer": _schema("dim_customer", {
        "customer_key": pa.Column(pl.String, unique=True),
        "customer_unique_key": KEY,
        "customer_zip_code_prefix": pa.Column(pl.String, pa.Check.str_matches(ZIP_PREFIX)),
        "customer_city": pa.Column(pl.String, nullable=True),
        "customer_state": STATE,
    }),
    "dim_product": _schema("dim_product", {
        "product_key": pa.Column(pl.String, unique=True),
        "product_category_name": pa.Column(pl.String, nullable=True),
        "product_category_name_english": pa.Column(pl.String, nullable=True),
        "category_label": KEY,
        "product_photos_qty": pa.Column(pl.Int32, pa.Check.ge(0), nullable=True),
        **{
            column: pa.Column(pl.Float64, pa.Check.ge(0), nullable=True)
            for column in ("product_weight_g", "product_length_cm", "product_height_cm",
                           "product_width_cm", "product_volume_cm3")
        },
    }),
    "dim_seller": _schema("dim_seller", {
        "seller_key": pa.Column(pl.String, unique=True),
        "seller_zip_code_prefix": pa.Column(pl.String, pa.Check.str_matches(ZIP_PREFIX)),
        "seller_state": STATE,
    }),
    "fact_sales": _schema("fact_sales", {
        "order_id": KEY,
        "order_item_id": pa.Column(pl.Int32, pa.Check.ge(1)),
        "date_key": pa.Column(pl.Int32),
        "customer_key": KEY,
        "product_key": KEY,
        "seller_key": KEY,
        "order_status": pa.Column(pl.String, pa.Check.isin(ORDER_STATUSES)),
        "payment_type": pa.Column(pl.String, pa.Check.isin(PAYMENT_TYPES), nullable=True),
        "price": pa.Column(pl.Float64, pa.Check.in_range(0, MAX_PRICE)),
        "freight_value": BRL,
        "allocated_payment": BRL,
        "order_purchase_timestamp": pa.Column(pl.Datetime("us")),
        "order_approved_at": TS,
        "order_delivered_carrier_date": TS,
        "order_delivered_customer_date": TS,
        "order_estimated_delivery_date": TS,
        "delivery_days": pa.Column(pl.Int32, nullable=True),
        "is_late": pa.Column(pl.Boolean, nullable=True),
        "review_score": pa.Column(pl.Int32, pa.Check.in_range(1, 5), nullable=True),
    }, unique=["order_id", "order_item_id"]),
    "fact_orders": _schema("fact_orders", {
        "order_id": pa.Column(pl.String, unique=True),
        "date_key": pa.Column(pl.Int32),
        "customer_key": KEY,
        "order_status": pa.Column(pl.String, pa.Check.isin(ORDER_STATUSES)),
        "status_bucket": pa.Column(pl.String, pa.Check.isin(BUCKETS[1:])),
        "payment_type": pa.Column(pl.String, pa.Check.isin(PAYMENT_TYPES), nullable=True),
        "items": pa.Column(pl.Int32, pa.Check.ge(0)),
        "items_value": BRL,
        "paid_value": BRL,
        "review_score": pa.Column(pl.Int32, pa.Check.in_range(1, 5), nullable=True),
        "delivery_days": pa.Column(pl.Int32, nullable=True),
        "is_late": pa.Column(pl.Boolean, nullable=True),
        "order_purchase_timestamp": pa.Column(pl.Datetime("us")),
    }),
    "sales_monthly": _schema("sales_monthly", {
        "month": pa.Column(pl.Date, unique=True),
        **SALES_TOTALS,
        "ipca_pct_change": pa.Column(pl.Float64, nullable=True),
        "ipca_index": pa.Column(pl.Float64, pa.Check.gt(0), nullable=True),
        "reference_month": pa.Column(pl.Date, nullable=True),
        "revenue_deflated": pa.Column(pl.Float64, pa.Check.ge(0), nullable=True),
    }),
    "sales_by_state": _schema("sales_by_state", {
        "customer_state": STATE,
        **SALES_TOTALS,
        "customers": COUNT,
        "average_ticket": BRL,
    }, unique=["customer_state"]),
    "customers_by_state": _schema("customers_by_state", {
        "customer_state": STATE,
        "customer_ids": COUNT,
        "customers": COUNT,
        "buying_customers": COUNT,
    }, unique=["customer_state"]),
    "sales_by_category": _schema("sales_by_category", {
        "product_category_name": pa.Column(pl.String, nullable=True),
        "product_category_name_english": pa.Column(pl.String, nullable=True),
        "category_label": KEY,
        **SALES_TOTALS,
        "revenue_rank": pa.Column(pl.Int32, pa.Check.ge(1), unique=True),
    }, unique=["product_category_name"]),
    "order_status_summary": _schema("order_status_summary", {
        "panel_order": pa.Column(pl.Int32, unique=True),
        "bucket": pa.Column(pl.String, pa.Check.isin(BUCKETS), unique=True),
        "label": KEY,
        "statuses": pa.Column(pl.String),
        "orders": COUNT,
        "value": BRL,
    }),
    "payment_type_summary": _schema("payment_type_summary", {
        "payment_type": pa.Column(pl.String, pa.Check.isin(PAYMENT_TYPES), unique=True),
        "payments": COUNT,
        "orders": COUNT,
        "value": BRL,
        "average_installments": pa.Column(pl.Float64, pa.Check.ge(0)),
        "value_share": SHARE,
        "fulfilled_orders": COUNT,
        "fulfilled_value": BRL,
    }),
    "delivery_performance": _schema("delivery_performance", {
        "customer_state": STATE,
        "delivered_orders": COUNT,
        "average_delivery_days": pa.Column(pl.Float64, nullable=True),
        "average_estimated_days": pa.Column(pl.Float64, nullable=True),
        "on_time_orders": COUNT,
        "late_orders": COUNT,
        "late_share": SHARE,
        "average_review_score": pa.Column(pl.Float64, pa.Check.in_range(1, 5), nullable=True),
    }, unique=["customer_state"]),
    "sales_weather_daily": _schema("sales_weather_daily", {
        "customer_state": STATE,
        "date": pa.Column(pl.Date),
        "date_key": pa.Column(pl.Int32),
        **SALES_TOTALS,
        "capital": pa.Column(pl.String, nullable=True),
        "temperature_max": pa.Column(pl.Float64, nullable=True),
        "temperature_min": pa.Column(pl.Float64, nullable=True),
        "temperature_mean": pa.Column(pl.Float64, nullable=True),
        "precipitation_sum": pa.Column(pl.Float64, pa.Check.ge(0), nullable=True),
        "weather_synthetic": pa.Column(pl.Boolean, nullable=True),
    }, unique=["customer_state", "date"]),
}  # fmt: skip
GOLD_TABLES = tuple(GOLD_SCHEMAS)
SILVER_INPUTS = ("orders", "order_items", "payments")


def read_gold_table(directory: str, fs: Any = None) -> pl.DataFrame:
    """A gold table: every `*.parquet` part file of its directory (local, or through `fs`)."""
    if fs is None:
        return pl.read_parquet(f"{directory.rstrip('/')}/*.parquet")
    parts = sorted(fs.glob(f"{directory.rstrip('/')}/*.parquet"))
    frames = []
    for part in parts:
        with fs.open(part, "rb") as handle:
            frames.append(pl.read_parquet(handle))
    return pl.concat(frames)


# -- schemas ------------------------------------------------------------------------------
def schema_problems(name: str, frame: pl.DataFrame) -> list[str]:
    """Every Pandera failure of one gold table, one line per (check, column)."""
    try:
        GOLD_SCHEMAS[name].validate(frame, lazy=True)
        return []
    except SchemaErrors as errors:
        cases = errors.failure_cases
    except SchemaError as error:
        return [f"{name}: {error}"]
    grouped = (
        cases.with_columns(pl.col("failure_case").cast(pl.String).str.slice(0, 80))
        .group_by("check", "column", maintain_order=True)
        .agg(pl.len().alias("n"), pl.col("failure_case").unique(maintain_order=True).head(3))
    )
    return [
        f"{name}: check {_short(check)} failed on {column} ({n} case(s), e.g. {examples})"
        for check, column, n, examples in grouped.iter_rows()
    ]


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- reconciliation -----------------------------------------------------------------------
def _cents(frame: pl.DataFrame, column: str) -> int:
    return int(frame.select((pl.col(column) * 100).round().cast(pl.Int64).sum()).item() or 0)


def _brl(cents: int) -> str:
    return f"R$ {cents / 100:,.2f}"


def _equal(problems: list[str], what: str, gold: int, silver: int, money: bool = True) -> None:
    if gold != silver:
        shown = (_brl(gold), _brl(silver)) if money else (f"{gold:,}", f"{silver:,}")
        problems.append(f"{what}: gold {shown[0]} != expected {shown[1]}")


def _fact_problems(silver: Mapping[str, pl.DataFrame], fact: pl.DataFrame) -> list[str]:
    items, payments = silver["order_items"], silver["payments"]
    with_items = items.select("order_id").unique()
    problems: list[str] = []
    _equal(
        problems,
        "Σ fact_sales.price vs Σ silver order_items.price",
        _cents(fact, "price"),
        _cents(items, "price"),
    )
    _equal(
        problems,
        "Σ fact_sales.freight_value vs Σ silver order_items.freight_value",
        _cents(fact, "freight_value"),
        _cents(items, "freight_value"),
    )
    _equal(
        problems,
        "Σ fact_sales.allocated_payment vs Σ silver payments of orders with items",
        _cents(fact, "allocated_payment"),
        _cents(payments.join(with_items, on="order_id", how="semi"), "payment_value"),
    )
    _equal(
        problems,
        "distinct orders in fact_sales vs silver orders with items",
        fact["order_id"].n_unique(),
        with_items.height,
        money=False,
    )
    _equal(
        problems,
        "fact_sales rows vs silver order_items rows",
        fact.height,
        items.height,
        money=False,
    )
    duplicates = fact.select("order_id", "order_item_id").is_duplicated().sum()
    if duplicates:
        problems.append(
            f"fact_sales has {duplicates} rows with a duplicate (order_id, order_item_id)"
        )
    return problems


STAR = (
    ("fact_sales", "date_key", "dim_date"),
    ("fact_sales", "customer_key", "dim_customer"),
    ("fact_sales", "product_key", "dim_product"),
    ("fact_sales", "seller_key", "dim_seller"),
    ("fact_orders", "date_key", "dim_date"),
    ("fact_orders", "customer_key", "dim_customer"),
)


def _star_problems(gold: Mapping[str, pl.DataFrame]) -> list[str]:
    """Every fact key has its dimension row (no orphan keys in the star)."""
    problems = []
    for fact, key, dimension in STAR:
        orphans = gold[fact].join(gold[dimension].select(key), on=key, how="anti")
        if orphans.height:
            examples = orphans[key].unique().sort().head(3).to_list()
            problems.append(
                f"{fact}.{key}: {orphans.height} row(s) not in {dimension} (e.g. {examples})"
            )
    return problems


def _order_fact_problems(
    silver: Mapping[str, pl.DataFrame], gold: Mapping[str, pl.DataFrame]
) -> list[str]:
    """fact_orders: every silver order once, its payments and items, and the same panels."""
    orders, items = gold["fact_orders"], silver["order_items"]
    problems: list[str] = []
    _equal(
        problems,
        "fact_orders rows vs silver orders",
        orders.height,
        silver["orders"].height,
        money=False,
    )
    paid = silver["payments"].join(silver["orders"].select("order_id"), on="order_id", how="semi")
    _equal(
        problems,
        "Σ fact_orders.paid_value vs Σ silver payments of orders",
        _cents(orders, "paid_value"),
        _cents(paid, "payment_value"),
    )
    _equal(
        problems,
        "Σ fact_orders.items vs silver order_items rows",
        int(orders["items"].sum()),
        items.height,
        money=False,
    )
    _equal(
        problems,
        "fact_orders with items vs distinct orders in fact_sales",
        orders.filter(pl.col("items") > 0).height,
        gold["fact_sales"]["order_id"].n_unique(),
        money=False,
    )
    panels = gold["order_status_summary"].filter(pl.col("bucket") != "total")
    by_bucket = orders.group_by("status_bucket").agg(
        pl.len().alias("n"), (pl.col("paid_value") * 100).round().cast(pl.Int64).sum().alias("c")
    )
    for bucket, count, value in panels.select("bucket", "orders", "value").iter_rows():
        row = by_bucket.filter(pl.col("status_bucket") == bucket)
        _equal(
            problems,
            f"fact_orders {bucket} orders vs order_status_summary",
            int(row["n"].sum()),
            count,
            money=False,
        )
        _equal(
            problems,
            f"fact_orders {bucket} value vs order_status_summary",
            int(row["c"].sum()),
            round(value * 100),
        )
    return problems


def _aggregate_problems(gold: Mapping[str, pl.DataFrame]) -> list[str]:
    fact, monthly = gold["fact_sales"], gold["sales_monthly"]
    revenue = _cents(fact, "allocated_payment")
    problems: list[str] = []
    _equal(
        problems,
        "Σ sales_monthly.revenue vs Σ fact_sales.allocated_payment",
        _cents(monthly, "revenue"),
        revenue,
    )
    _equal(
        problems,
        "Σ sales_monthly.price_total vs Σ fact_sales.price",
        _cents(monthly, "price_total"),
        _cents(fact, "price"),
    )
    _equal(
        problems,
        "Σ sales_monthly.orders vs distinct orders in fact_sales",
        int(monthly["orders"].sum()),
        fact["order_id"].n_unique(),
        money=False,
    )
    _equal(
        problems,
        "Σ sales_monthly.items vs fact_sales rows",
        int(monthly["items"].sum()),
        fact.height,
        money=False,
    )
    for table in ("sales_by_state", "sales_by_category", "sales_weather_daily"):
        _equal(
            problems,
            f"Σ {table}.revenue vs Σ fact_sales.allocated_payment",
            _cents(gold[table], "revenue"),
            revenue,
        )
    return problems


def _panel_problems(
    silver: Mapping[str, pl.DataFrame], gold: Mapping[str, pl.DataFrame]
) -> list[str]:
    """The status panels: total = all silver orders; the three buckets add up to it."""
    orders, payments = silver["orders"], silver["payments"]
    panels = {row["bucket"]: row for row in gold["order_status_summary"].iter_rows(named=True)}
    missing = [bucket for bucket in BUCKETS if bucket not in panels]
    if missing:
        return [f"order_status_summary lacks panel(s) {missing}"]
    total = panels["total"]
    paid = _cents(
        payments.join(orders.select("order_id"), on="order_id", how="semi"), "payment_value"
    )
    parts = [panels[bucket] for bucket in BUCKETS[1:]]
    problems: list[str] = []
    _equal(
        problems,
        "order_status_summary total orders vs silver orders",
        total["orders"],
        orders.height,
        money=False,
    )
    _equal(
        problems,
        "order_status_summary total value vs Σ silver payments of orders",
        round(total["value"] * 100),
        paid,
    )
    _equal(
        problems,
        "order_status_summary: fulfilled + awaiting_release + lost orders vs total",
        sum(p["orders"] for p in parts),
        total["orders"],
        money=False,
    )
    _equal(
        problems,
        "order_status_summary: fulfilled + awaiting_release + lost value vs total",
        sum(round(p["value"] * 100) for p in parts),
        round(total["value"] * 100),
    )
    _equal(
        problems,
        "Σ payment_type_summary.value vs Σ silver payments",
        _cents(gold["payment_type_summary"], "value"),
        _cents(payments, "payment_value"),
    )
    return problems


def reconcile_gold(
    silver_frames: Mapping[str, pl.DataFrame], gold_frames: Mapping[str, pl.DataFrame]
) -> list[str]:
    """Every way gold disagrees with silver or with itself; [] when it reconciles.

    `silver_frames` needs orders, order_items and payments; `gold_frames` every gold table.
    """
    return [
        *_fact_problems(silver_frames, gold_frames["fact_sales"]),
        *_order_fact_problems(silver_frames, gold_frames),
        *_star_problems(gold_frames),
        *_aggregate_problems(gold_frames),
        *_panel_problems(silver_frames, gold_frames),
    ]


def gold_gate(
    silver_frames: Mapping[str, pl.DataFrame], gold_frames: Mapping[str, pl.DataFrame]
) -> dict[str, int]:
    """Validate every gold table and reconcile; return {table: rows}.

    Raises `QualityGateFailed` listing every problem: a missing table, each schema failure,
    each reconciliation mismatch.
    """
    missing = [name for name in GOLD_TABLES if name not in gold_frames]
    if missing:
        raise QualityGateFailed(f"Gold gate: table(s) {missing} were not produced by the job.")
    problems = [p for name in GOLD_TABLES for p in schema_problems(name, gold_frames[name])]
    problems += reconcile_gold(silver_frames, gold_frames)
    if problems:
        raise QualityGateFailed(
            f"Gold gate failed with {len(problems)} problem(s); nothing was published and the "
            "previous gold stays in place. Fix the job or silver, then re-run:\n  - "
            + "\n  - ".join(problems)
        )
    return {name: gold_frames[name].height for name in GOLD_TABLES}
