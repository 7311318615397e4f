"""Loading the real-size fact table: Cofre's COPY path versus `DataFrame.to_sql` (the seed's).

    python -m benchmarks.warehouse_benchmark --gold data/lake/gold [--repeats 3]

Needs a gold `fact_sales` (run the pipeline first) and the PostgreSQL 15 binaries (a throwaway
server is started on 127.0.0.1, with `fsync=off` like the tests' server). In the same run and
into the same database, each method replaces the rows of the migrated `dw.fact_sales` (primary
key, four foreign keys, three indexes), the dimensions already loaded:

- Cofre: `load_tables` (one transaction: keys and indexes set aside, TRUNCATE, COPY, rebuild,
  foreign keys re-validated set-wise);
- the seed's way: TRUNCATE, then `to_sql(if_exists="append")` into the same table;
- for reference, `to_sql` into a table of the same columns without any key or index (`LIKE`),
  the most favourable case for to_sql.

Then the whole warehouse (every gold table, one `load_tables` call) into PostgreSQL and into
the embedded SQLite file, as `full_pipeline` loads it.

Prints medians of `--repeats` runs as Markdown tables, the whole-warehouse loads with the
CPU seconds of this process beside the wall seconds (on a shared machine compare CPU; the
PostgreSQL server's own CPU is not included). `--whole-only` skips the `to_sql` comparison,
which takes minutes at 10x (`--gold` of a 10x gold: `python -m benchmarks.gold_benchmark
--orders 994410 --workdir W`, then `--gold W/gold/1`).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.measure import timed

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gold", type=Path, required=True, help="gold directory of a local lake")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--whole-only", action="store_true", help="only the whole-warehouse loads (no to_sql)"
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import text

    from blocks.settings import load_settings
    from tasks.warehouse.connection import connect_warehouse
    from tasks.warehouse.load import load_tables
    from tasks.warehouse.schema import METADATA, migrate
    from tests.services import start_postgres, stop_postgres
    from tests.spark.gold_reader import read_gold_table
    from tests.tasks.warehouse.table_checks import table_counts
    from validation.catalog import GOLD_POINTER, GOLD_TABLES, WAREHOUSE_SCHEMA

    if (args.gold / GOLD_POINTER).exists():  # a lake's gold: its current version, verified
        from blocks.lake import Lake
        from tasks.layers.gold import read_current_gold

        everything = read_current_gold(Lake.from_url(str(args.gold.parent)))[1]
    else:  # a directory of table directories (the job's own output)
        everything = {t: read_gold_table(str(args.gold / t)) for t in GOLD_TABLES}
    frames = {t: f for t, f in everything.items() if t.startswith("dim_") or t == "fact_sales"}
    fact = frames["fact_sales"]
    columns = [c.name for c in METADATA.tables["dw.fact_sales"].columns]
    pandas_fact = None if args.whole_only else fact.select(columns).to_pandas()
    server = start_postgres()
    timings: dict[str, list[float]] = {"copy": [], "to_sql": [], "to_sql_unconstrained": []}
    whole: dict[str, list[tuple[float, float]]] = {"postgresql": [], "sqlite": []}
    try:
        os.environ["PGPASSWORD"] = server.password
        url = server.url(server.create_database("bench"), with_password=False)
        warehouse = connect_warehouse(load_settings(), url)
        migrate(warehouse)
        load_tables(warehouse, METADATA, {t: f for t, f in frames.items() if t != "fact_sales"})
        with warehouse.engine.begin() as conn:
            conn.execute(text("CREATE TABLE dw.fact_sales_plain (LIKE dw.fact_sales)"))

        def seed_way(table: str) -> None:
            with warehouse.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE dw.{table}"))
            pandas_fact.to_sql(
                table, warehouse.engine, schema=WAREHOUSE_SCHEMA, if_exists="append", index=False
            )

        for _ in range(0 if args.whole_only else args.repeats):
            timings["copy"].append(
                timed(lambda: load_tables(warehouse, METADATA, {"fact_sales": fact}))[1]
            )
            timings["to_sql"].append(timed(lambda: seed_way("fact_sales"))[1])
            timings["to_sql_unconstrained"].append(timed(lambda: seed_way("fact_sales_plain"))[1])
        if not args.whole_only:
            assert table_counts(warehouse, METADATA)["fact_sales"] == fact.height
        with tempfile.TemporaryDirectory() as home:
            sqlite = connect_warehouse(load_settings(home=home))
            migrate(sqlite)
            for _ in range(args.repeats):
                for name, target in (("postgresql", warehouse), ("sqlite", sqlite)):
                    whole[name].append(
                        timed_cpu(lambda t=target: load_tables(t, METADATA, everything))
                    )
            sqlite.dispose()
        warehouse.dispose()
    finally:
        stop_postgres(server)
    if not args.whole_only:
        medians = {k: statistics.median(v) for k, v in timings.items()}
        print(to_markdown(fact.height, medians, args))
    rows = sum(frame.height for frame in everything.values())
    print(
        f"\nthe whole warehouse: {len(everything)} tables, {rows:,} rows, median of {args.repeats}"
    )
    print(f"load average {os.getloadavg()[0]:.1f}")
    print("\n| warehouse | wall seconds | CPU seconds (this process) |\n|---|---:|---:|")
    for name, runs in whole.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"| {name} | {wall:.2f} | {cpu:.2f} |")


def timed_cpu(action) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of `action()`."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    seconds = timed(action)[1]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return seconds, usage.ru_utime + usage.ru_stime - cpu


def to_markdown(rows: int, median: dict[str, float], args: argparse.Namespace) -> str:
    labels = {
        "copy": "Cofre: COPY bulk replace (`load_tables`)",
        "to_sql": "seed: TRUNCATE + `to_sql` into the same table",
        "to_sql_unconstrained": "`to_sql` into a table without keys or indexes",
    }
    lines = [
        f"fact_sales, {rows:,} rows, median of {args.repeats}",
        "",
        "| method | seconds | rows/s | vs Cofre |",
        "|---|---:|---:|---:|",
    ]
    for key, label in labels.items():
        seconds = median[key]
        ratio = seconds / median["copy"]
        lines.append(f"| {label} | {seconds:.2f} | {rows / seconds:,.0f} | {ratio:.1f}x |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
