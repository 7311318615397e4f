"""Gold at real size: Spark session start-up and the gold job's compute, timed separately.

    python -m benchmarks.gold_benchmark                      # 99,441 orders, local[*]
    python -m benchmarks.gold_benchmark --orders 20000 --conf spark.driver.memory=2g
    python -m benchmarks.gold_benchmark --silver /tmp/lake/silver   # reuse a built silver

Generates the synthetic Olist set (real proportions), lands it in bronze with the bundled IPCA
and weather snapshots, builds silver with Cofre's own stage, then times: the SparkSession
start, a first (cold) gold run, a second (warm) run in the same session, and the gold gate.
Prints a Markdown table (docs/gold.md quotes one). Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from pathlib import Path

from benchmarks.measure import timed


def build_silver(workdir: Path, orders: int, seed: int):
    """A local lake with silver built from a synthetic Olist set of `orders` orders."""
    from blocks.lake import Lake
    from blocks.settings import load_settings
    from tasks.ipca import ingest_ipca
    from tasks.olist import check_olist_dir, land_olist_file
    from tasks.olist_synthetic import generate_olist
    from tasks.open_meteo import ingest_open_meteo
    from tasks.silver_run import run_silver

    settings = load_settings(home=workdir)
    generate_olist(workdir / "olist", orders=orders, seed=seed)
    lake = Lake.from_url(str(workdir / "lake"))
    for file in check_olist_dir(workdir / "olist"):
        land_olist_file(lake, file, "bench")
    ingest_ipca(lake, settings, "bench", mode="snapshot")
    ingest_open_meteo(lake, settings, "bench", mode="snapshot")
    run_silver(lake, settings, "bench")
    return lake


def run(
    orders: int,
    seed: int,
    master: str,
    conf: dict[str, str],
    workdir: Path,
    silver_url: str | None = None,
    warm: bool = False,
) -> list:
    os.environ["COFRE_HOME"] = str(workdir)  # keyring and audit of the silver build
    from blocks.lake import Lake
    from spark.gold_job import GOLD_TABLES, run_gold
    from spark.session import build_session, warm_up
    from tasks.silver import read_silver
    from validation.gold import SILVER_INPUTS, gold_gate, read_gold_table

    if silver_url:  # reuse a silver layer (the gate reads it with polars from its lake)
        lake, silver_seconds = Lake.from_url(silver_url.rstrip("/").removesuffix("/silver")), 0.0
    else:
        lake, silver_seconds = timed(lambda: build_silver(workdir, orders, seed))
    spark, session_seconds = timed(lambda: build_session(master, conf=conf))
    # The pipeline starts the session and its warm-up query while silver runs (--warm-up).
    _, warm_up_seconds = timed(lambda: warm_up(spark)) if warm else (None, 0.0)
    gold = workdir / "gold"
    rows, cold_seconds = timed(lambda: run_gold(spark, lake.url("silver"), f"{gold}/1"))
    _, warm_seconds = timed(lambda: run_gold(spark, lake.url("silver"), f"{gold}/2"))
    silver = {name: read_silver(lake, name) for name in SILVER_INPUTS}

    def gate() -> None:
        tables = {t: read_gold_table(f"{gold}/2/{t}") for t in GOLD_TABLES}
        gold_gate(silver, tables)

    _, gate_seconds = timed(gate)
    spark.stop()
    return [
        ("silver build (polars, not Spark)", silver_seconds, ""),
        ("Spark session start-up", session_seconds, master),
        (
            "Spark warm-up query (overlapped in the pipeline)",
            warm_up_seconds,
            "" if warm else "off",
        ),
        ("gold job, first run (cold JVM)", cold_seconds, f"{sum(rows.values()):,} rows"),
        ("gold job, second run (warm)", warm_seconds, f"fact_sales {rows['fact_sales']:,}"),
        ("gold gate (polars: schemas + reconciliation)", gate_seconds, ""),
    ], rows


def markdown(orders: int, master: str, conf: dict[str, str], timings, rows) -> str:
    lines = [
        f"Gold benchmark: {orders:,} synthetic orders, master {master}, "
        f"{os.cpu_count()} CPU(s), Python {platform.python_version()}"
        + (f", conf {conf}" if conf else ""),
        "",
        "| step | seconds | notes |",
        "|---|---:|---|",
        *[f"| {step} | {seconds:.1f} | {note} |" for step, seconds, note in timings],
        "",
        "| gold table | rows |",
        "|---|---:|",
        *[f"| {table} | {count:,} |" for table, count in rows.items()],
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.gold_benchmark", description=__doc__
    )
    parser.add_argument("--orders", type=int, default=99_441, help="synthetic orders (real size)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--conf", action="append", default=[], help="KEY=VALUE Spark setting")
    parser.add_argument("--workdir", type=Path, help="keep the data here (default: a temp dir)")
    parser.add_argument(
        "--silver", help="time gold on this existing <lake>/silver instead of building one"
    )
    parser.add_argument(
        "--warm-up", action="store_true", help="run the pipeline's warm-up query before gold"
    )
    args = parser.parse_args(argv)
    conf = dict(item.split("=", 1) for item in args.conf)
    with tempfile.TemporaryDirectory(prefix="cofre-gold-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        timings, rows = run(
            args.orders, args.seed, args.master, conf, workdir, args.silver, args.warm_up
        )
    print(markdown(args.orders, args.master, conf, timings, rows))


if __name__ == "__main__":
    main()
