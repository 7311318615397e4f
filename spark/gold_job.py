"""The gold job: silver -> star schema + BI marts, one Parquet table per directory, on either
engine (spark/engine.py): DuckDB in process, or Apache Spark.

    python -m spark.gold_job --silver data/lake/silver --gold data/gold            # DuckDB
    python -m spark.gold_job --engine spark --silver ... --gold ...               # local[*]
    spark-submit --master spark://host:7077 spark/gold_job.py --silver ... --gold ...

Every table is one SQL model (spark/models/), the same text on both engines. Run in process
(the gold stage calls `run_gold`), from the command line and, unchanged, under spark-submit on
a cluster. It imports nothing but this package, the standard-library catalog of names
(`validation/catalog.py`), pyarrow, and the chosen engine (pyspark only for Spark).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

if not __package__:  # run as a file (spark-submit spark/gold_job.py): make `spark` and
    # `validation.catalog` importable
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import pyarrow as pa

from spark.engine import ENGINES, DuckDBEngine, GoldEngine, choose_engine
from spark.errors import GoldJobError, MissingSilverDataset
from spark.gold_write import conform, drop_empty_staging, local_path, write_part
from spark.models import DISTINCT_CATEGORIES, MODELS, RAW, category_labels, silver_view
from validation.catalog import (
    GOLD_BUILD_ORDER,
    GOLD_INPUTS,
    GOLD_OPTIONAL_INPUTS,
    GOLD_STAGING,
    GOLD_TABLES,
)

LOG = logging.getLogger("spark.gold_job")
__all__ = ["GoldJobError", "MissingSilverDataset", "build_gold", "prepare_duckdb", "run_gold"]


def register_silver(engine: GoldEngine, silver_url: str, log) -> list[str]:
    """Register every dataset the models read; returns the optional ones that are absent.

    Raises `MissingSilverDataset` naming the path when a required dataset is absent."""
    root = silver_url.rstrip("/")
    columns = {name: engine.register_parquet(RAW + name, f"{root}/{name}") for name in GOLD_INPUTS}
    products = columns["products"] or ()
    needed = [n for n in GOLD_INPUTS if n not in GOLD_OPTIONAL_INPUTS]
    if "product_category_name_english" in products:
        needed.remove("category_translation")  # silver joined the translation into products
    for name in needed:
        if columns[name] is None:
            raise MissingSilverDataset(
                f"Silver dataset {name!r} is missing at {root}/{name}. Build silver first "
                "(python -m flows.silver), or point --silver at the right lake."
            )
    missing = [name for name in GOLD_OPTIONAL_INPUTS if columns[name] is None]
    for name in missing:
        log.warning(
            "Silver dataset %r is missing at %s/%s: gold continues without it (see docs/gold.md).",
            name, root, name,
        )  # fmt: skip
    for name in GOLD_INPUTS:
        if name != "category_translation":
            engine.create_view(name, silver_view(name, columns[name]))
    return missing


def build_gold(
    engine: GoldEngine,
    silver_url: str,
    log=None,
    built: Callable[[str], None] | None = None,
) -> list[str]:
    """Register silver and materialise every gold table on `engine`, in `GOLD_BUILD_ORDER`;
    `built(name)` is called as each table is done. Returns the absent optional silver
    datasets."""
    log = log or LOG
    missing = register_silver(engine, silver_url, log)
    categories = [name for (name,) in engine.rows(DISTINCT_CATEGORIES)]
    engine.register_arrow("category_labels", pa.table(category_labels(categories)))
    for name in GOLD_BUILD_ORDER:
        engine.materialize(name, MODELS[name]())
        if built is not None:
            built(name)
    return missing


def prepare_duckdb() -> None:
    """Load DuckDB and translate every model into its dialect (`to_duckdb` keeps them), so a
    DuckDB gold job started afterwards computes at once (10x: about 0.3 s of imports and
    sqlglot parsing). `python -m flows.full_pipeline` calls it while silver runs
    (tasks/gold/run.py `warm_up_duckdb`)."""
    import duckdb  # noqa: F401

    from spark.engine import to_duckdb

    to_duckdb(DISTINCT_CATEGORIES)
    for name in GOLD_BUILD_ORDER:
        to_duckdb(MODELS[name]())


def _exporter(engine: GoldEngine, gold_url: str, log) -> Callable[[str], int]:
    """The function that writes one materialised table under `gold_url` (returns its rows)."""
    gold_dir = local_path(gold_url)
    if gold_dir is None and engine.name != "spark":
        raise GoldJobError(
            f"The {engine.name} engine writes gold to a local directory, not {gold_url}."
        )

    def export(name: str) -> int:
        if gold_dir is None:  # a remote root: Spark's writer
            target = engine.write_remote(name, gold_url)
            count = engine.rows(f"SELECT COUNT(*) FROM {name}")[0][0]
        else:
            table = conform(name, engine.to_arrow(name))
            target, count = write_part(table, gold_dir, name, GOLD_STAGING), table.num_rows
        # In the run's logs, not on the console: the gold report lists the tables (the marker
        # is blocks/prefect_noise.UI_ONLY, spelt out: spark/ imports nothing of Cofre's).
        log.info("Gold table %s: %s rows at %s", name, f"{count:,}", target,
                 extra={"console": False})  # fmt: skip
        return count

    return export


def _build_and_export(
    engine: GoldEngine, silver_url: str, export: Callable[[str], int], log
) -> tuple[list[str], dict[str, int]]:
    """Materialise and write every table; returns (absent optional inputs, {table: rows}).

    An engine with `exports_while_building` (DuckDB) has each table written in a thread while
    the next ones are computed: a Parquet write keeps one core busy, and DuckDB leaves a core
    idle for part of every query (10x: the job 5.4 -> 4.3 s; docs/performance.md). Spark
    computes every table first, then collects `exports_at_once` tables at a time. A failed
    write stops the build at the next table; the first failure in build order is raised.
    """
    at_once = getattr(engine, "exports_at_once", 1)
    with ThreadPoolExecutor(at_once, thread_name_prefix="gold-write") as pool:
        if not getattr(engine, "exports_while_building", False):
            missing = build_gold(engine, silver_url, log)
            rows = dict(zip(GOLD_BUILD_ORDER, pool.map(export, GOLD_BUILD_ORDER), strict=True))
            return missing, {name: rows[name] for name in GOLD_TABLES}
        writes: dict[str, Future[int]] = {}

        def built(name: str) -> None:
            for future in writes.values():
                if future.done() and future.exception() is not None:
                    future.result()  # raises the write's error
            writes[name] = pool.submit(export, name)

        try:
            missing = build_gold(engine, silver_url, log, built)
            rows = {name: writes[name].result() for name in GOLD_BUILD_ORDER}
            return missing, {name: rows[name] for name in GOLD_TABLES}
        except BaseException:
            for future in writes.values():
                future.cancel()
            raise


def run_gold(
    engine: GoldEngine,
    silver_url: str,
    gold_url: str,
    log: logging.Logger | logging.LoggerAdapter | None = None,
) -> dict[str, int]:
    """Build every gold table from `silver_url` on `engine` and write it under `gold_url`.

    Returns {table: rows}. Raises `MissingSilverDataset` when a required silver dataset is
    absent (IPCA and weather are optional: their columns are then null, with a warning) and
    `GoldJobError` when a table does not fit its declared schema or cannot be written.
    """
    log = log or LOG
    export = _exporter(engine, gold_url, log)
    if hasattr(engine, "size_shuffle"):
        engine.size_shuffle(silver_url)
    missing, rows = _build_and_export(engine, silver_url, export, log)
    gold_dir = local_path(gold_url)
    if gold_dir is not None:
        drop_empty_staging(gold_dir, GOLD_STAGING)
    if "ipca_monthly" in missing:
        log.warning("No IPCA in silver: dim_date's IPCA is null, revenue_deflated = revenue.")
    if "weather_daily" in missing:
        log.warning("No weather in silver: sales_weather_daily's weather columns are null.")
    return rows


# -- command line ---------------------------------------------------------------------------
def _s3a_url(url: str) -> str:
    return "s3a://" + url.removeprefix("s3://") if url.startswith("s3://") else url


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m spark.gold_job",
        description="Build Cofre's gold layer (star schema + BI marts) from silver.",
        allow_abbrev=False,
    )
    parser.add_argument("--silver", required=True, help="silver root: a directory or s3a:// URL")
    parser.add_argument("--gold", required=True, help="gold root: a directory or s3a:// URL")
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help="duckdb (in process), spark, or auto: Spark when a master is given or under "
        "spark-submit, DuckDB otherwise",
    )
    parser.add_argument(
        "--master", help="Spark master URL (default local[*], or what spark-submit was given)"
    )
    parser.add_argument("--app-name", default="cofre-gold", help="Spark application name")
    parser.add_argument("--ui", action="store_true", help="start the Spark UI (port 4040)")
    return parser.parse_args(argv)


def _spark_engine(args: argparse.Namespace, uses_s3: bool):
    from spark.session import S3AOptions, build_session, s3a_available
    from spark.spark_engine import SparkEngine

    spark = build_session(
        args.master,
        app_name=args.app_name,
        ui=True if args.ui else None,
        s3=S3AOptions.from_env() if uses_s3 else None,
    )
    if uses_s3 and not s3a_available(spark):
        raise GoldJobError(
            "s3a:// needs the hadoop-aws connector on the classpath (see docs/gold.md), or "
            "run the gold stage from Cofre (python -m flows.gold), which stages through a "
            "local directory."
        )
    return SparkEngine(spark)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(  # the log on stderr, the JSON summary on stdout (one line)
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
        force=True,
    )
    # spark-submit hands its driver a running gateway (spark.session.launched_by_spark_submit)
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ
    master = args.master or ("spark-submit" if submitted else None)
    engine_name = choose_engine(args.engine, master)
    silver_url, gold_url = _s3a_url(args.silver), _s3a_url(args.gold)
    uses_s3 = any(url.startswith("s3a://") for url in (silver_url, gold_url))
    started = time.perf_counter()
    try:
        engine = _spark_engine(args, uses_s3) if engine_name == "spark" else DuckDBEngine()
        session_seconds = time.perf_counter() - started
        rows = run_gold(engine, silver_url, gold_url)
    except GoldJobError as exc:
        LOG.error("%s", exc)
        return 2
    summary = {
        "gold": gold_url,
        "engine": engine.name,
        "rows": rows,
        "session_seconds": round(session_seconds, 2),
        "compute_seconds": round(time.perf_counter() - started - session_seconds, 2),
    }
    print(json.dumps(summary), flush=True)  # spark-submit merges the driver's stderr in
    engine.close()
    if engine_name == "spark":
        engine.spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
