"""The seed's way of doing the same work, for side-by-side figures (benchmarks only).

pandas reads of the CSVs, the payments x items left joins (which fan out), row-wise `apply`
masking with sha256(value + key), and `DataFrame.to_sql` into the warehouse. Kept here, not in
the product, so the comparison is reproducible.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

FILES = {
    "orders": "olist_orders_dataset.csv",
    "items": "olist_order_items_dataset.csv",
    "payments": "olist_order_payments_dataset.csv",
    "customers": "olist_customers_dataset.csv",
    "products": "olist_products_dataset.csv",
    "reviews": "olist_order_reviews_dataset.csv",
}


def read_all(directory: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(directory / file) for name, file in FILES.items()}


def mask_seed_way(customers: pd.DataFrame, key: str = "seed-key") -> pd.DataFrame:
    masked = customers.copy()
    masked["customer_city"] = masked["customer_city"].apply(lambda _: "[CIDADE_REMOVIDA_LGPD]")
    masked["customer_state"] = masked["customer_state"].apply(
        lambda value: hashlib.sha256((str(value) + key).encode()).hexdigest()
    )
    return masked


def consolidate_seed_way(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The seed's consolidated table: orders ⟕ customers ⟕ payments ⟕ items (fan-out)."""
    return (
        frames["orders"]
        .merge(frames["customers"], on="customer_id", how="left")
        .merge(frames["payments"], on="order_id", how="left")
        .merge(frames["items"], on="order_id", how="left")
        .merge(
            frames["products"][["product_id", "product_category_name"]], on="product_id", how="left"
        )
    )


def load_seed_way(frame: pd.DataFrame, engine: Engine, table: str = "seed_consolidated") -> int:
    frame.to_sql(table, engine, if_exists="replace", index=False, chunksize=10_000)
    return len(frame)


def inflated_totals(consolidated: pd.DataFrame) -> dict[str, float]:
    return {
        "rows": float(len(consolidated)),
        "orders": float(consolidated["order_id"].nunique()),
        "payment_value": float(consolidated["payment_value"].sum()),
        "price": float(consolidated["price"].sum()),
    }


def main(directory: Path, database: Path) -> dict:
    """Time each of the seed's steps on `directory`; returns timings, totals, peak RSS."""
    import resource
    import time

    from sqlalchemy import create_engine

    timings: dict[str, float] = {}
    started = time.perf_counter()
    frames = read_all(directory)
    timings["read"] = time.perf_counter() - started
    started = time.perf_counter()
    frames["customers"] = mask_seed_way(frames["customers"])
    timings["masking"] = time.perf_counter() - started
    started = time.perf_counter()
    consolidated = consolidate_seed_way(frames)
    timings["consolidate"] = time.perf_counter() - started
    started = time.perf_counter()
    load_seed_way(consolidated, create_engine(f"sqlite:///{database}"))
    timings["warehouse"] = time.perf_counter() - started
    return {
        "timings": timings,
        "totals": inflated_totals(consolidated),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]))))
