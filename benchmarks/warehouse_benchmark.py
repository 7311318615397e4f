"""Loading the real-size fact table: Cofre's COPY path versus `DataFrame.to_sql` (the seed's).

    python -m benchmarks.warehouse_benchmark --gold /tmp/bench-dashboard/lake/gold

Needs a gold `fact_sales` (run the pipeline or benchmarks.gold_benchmark first) and the
PostgreSQL 15 binaries (a throwaway server is started on 127.0.0.1). Both methods load the
same frame into an empty `dw.fact_sales` of the same schema, in the same run; the COPY path is
timed through `load_tables` (staging COPY + upsert in one transaction, keys and FKs checked).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gold", type=Path, required=True, help="gold directory of a local lake")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import polars as pl
    from sqlalchemy import text

    from blocks.settings import load_settings
    from tasks.warehouse import connect_warehouse, load_tables
    from tasks.warehouse_schema import GOLD_TABLES, METADATA, migrate
    from tests.services import start_postgres, stop_postgres

    needed = [t for t in GOLD_TABLES if t.startswith("dim_")] + ["fact_sales"]
    frames = {t: pl.read_parquet(args.gold / t / "*.parquet") for t in needed}
    server = start_postgres()
    try:
        os.environ["PGPASSWORD"] = server.password
        url = server.url(server.create_database("bench"), with_password=False)
        warehouse = connect_warehouse(load_settings(), url)
        migrate(warehouse)
        dims = {t: f for t, f in frames.items() if t.startswith("dim_")}
        load_tables(warehouse, METADATA, dims)
        started = time.perf_counter()
        load_tables(warehouse, METADATA, {"fact_sales": frames["fact_sales"]})
        copy_seconds = time.perf_counter() - started
        with warehouse.engine.begin() as conn:
            conn.execute(text("CREATE TABLE dw.fact_sales_to_sql (LIKE dw.fact_sales)"))
        pandas_frame = frames["fact_sales"].to_pandas()
        started = time.perf_counter()
        pandas_frame.to_sql(
            "fact_sales_to_sql", warehouse.engine, schema="dw", if_exists="append", index=False
        )
        to_sql_seconds = time.perf_counter() - started
        warehouse.dispose()
    finally:
        stop_postgres(server)
    rows = frames["fact_sales"].height
    lines = ["| method | rows | seconds | rows/s |", "|---|---:|---:|---:|"]
    for name, seconds in (
        ("COPY + upsert (Cofre)", copy_seconds),
        ("to_sql (seed)", to_sql_seconds),
    ):
        lines.append(f"| {name} | {rows:,} | {seconds:.2f} | {rows / seconds:,.0f} |")
    print("\n".join(lines))
    print(f"\nCOPY path is {to_sql_seconds / copy_seconds:.1f}x faster.")


if __name__ == "__main__":
    main()
