"""The gold job: silver -> star schema + BI aggregates, one Parquet table per directory.

    python -m spark.gold_job --silver data/lake/silver --gold data/lake/gold
    spark-submit --master spark://host:7077 spark/gold_job.py --silver s3a://lake/silver \\
        --gold s3a://lake/gold

Runs in process (a Prefect task calls `run_gold`), from the command line (local[*]) and,
unchanged, under spark-submit on a cluster. It imports nothing but pyspark, this package and
the standard-library catalog of names (`validation/catalog.py`).
Each table is written to a staging directory and then renamed into `<gold>/<table>/`, so a
reader never sees half a table.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

if not __package__:  # run as a file (spark-submit spark/gold_job.py): make `spark` and
    # `validation.catalog` importable
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark import aggregates as agg
from spark.arrow_write import arrow_available, local_path, write_table_arrow
from spark.dimensions import dim_customer, dim_date, dim_product, dim_seller
from spark.facts import fact_sales
from spark.orders import fact_orders
from spark.session import S3AOptions, build_session, s3a_available
from spark.silver import Silver
from validation.catalog import GOLD_STAGING, GOLD_TABLES, GOLD_WRITE_ORDER, SALES_CONSOLIDATED

LOG = logging.getLogger("spark.gold_job")
WRITERS = 3  # tables written concurrently (Spark jobs share the session's cores)
# Written first: the longest writes, and they fill the caches the aggregates read.
FIRST = ("fact_orders", "fact_sales", "dim_customer")


class GoldJobError(RuntimeError):
    """The gold job could not run or write (the message says where and what to do)."""


class GoldTables(dict[str, DataFrame]):
    """{table: DataFrame}, plus the cached frames behind them that `release` drops."""

    cached: list[DataFrame]


# Above this many sold items the marts join the cached fact themselves: a cached pre-joined
# fact of 10x Olist (1.1M rows) crowded the driver's storage memory until Arrow task
# results were evicted before the driver fetched them (TaskResultLost).
PRE_JOIN_MAX_ROWS = 300_000


def build_gold(silver: Silver, pre_join: bool | None = None) -> GoldTables:
    """Every gold table as a DataFrame (lazy), in `GOLD_TABLES` order.

    The facts and the dimensions the aggregates reuse are cached; `release` drops them.
    `pre_join`: the sales marts read one cached fact pre-joined to their dimensions (default:
    when silver has at most `PRE_JOIN_MAX_ROWS` sold items); the tables are the same either way.
    """
    dates = dim_date(silver).cache()
    customers = dim_customer(silver).cache()
    products = dim_product(silver)
    sales = fact_sales(silver)
    if pre_join is None:
        pre_join = silver.rows(SALES_CONSOLIDATED) <= PRE_JOIN_MAX_ROWS
    if pre_join:  # one cached fact joined to its dimensions: each mart one aggregation of it
        marts_fact = agg.sales_wide(sales, customers, dates, products).cache()
        fact = marts_fact.select(*sales.columns)
    else:  # the marts join the cached fact to the cached dimensions themselves
        fact = marts_fact = sales.cache()
    orders = fact_orders(silver).cache()
    tables = GoldTables({
        "dim_date": dates,
        "dim_customer": customers,
        "dim_product": products,
        "dim_seller": dim_seller(silver),
        "fact_sales": fact,
        "fact_orders": orders,
        "sales_monthly": agg.sales_monthly(marts_fact, dates),
        "sales_by_state": agg.sales_by_state(marts_fact, customers),
        "customers_by_state": agg.customers_by_state(customers, fact),
        "sales_by_category": agg.sales_by_category(marts_fact, products),
        "order_status_summary": agg.order_status_summary(orders),
        "payment_type_summary": agg.payment_type_summary(silver),
        "delivery_performance": agg.delivery_performance(marts_fact, customers),
        "sales_weather_daily": agg.sales_weather_daily(marts_fact, customers, silver),
    })  # fmt: skip
    tables.cached = [dates, customers, marts_fact, orders]
    assert tuple(tables) == GOLD_TABLES
    return tables


SHUFFLE_KEY = "spark.sql.shuffle.partitions"
ROWS_PER_PARTITION = 250_000  # rows of the largest silver input per shuffle partition
MIN_PARTITIONS = 2  # both cores of a small machine


def shuffle_partitions(largest_rows: int) -> int:
    """Shuffle partitions for a gold run whose largest silver input has `largest_rows`."""
    return max(MIN_PARTITIONS, min(200, -(-largest_rows // ROWS_PER_PARTITION)))


def explicit_shuffle(spark: SparkSession) -> str | None:
    """The shuffle partitions the session was started with (a caller's conf, spark-submit
    --conf), or None when nobody set them."""
    conf = spark.sparkContext.getConf()
    return conf.get(SHUFFLE_KEY) if conf.contains(SHUFFLE_KEY) else None


def size_shuffle(spark: SparkSession, silver: Silver, explicit: str | None = None) -> int:
    """Set the session's shuffle partitions from silver's row counts (Parquet footers, no
    job), unless they were set explicitly (`explicit`, default `explicit_shuffle`). Every
    stage after a shuffle has this many tasks, so a fixed count is wrong at some size."""
    explicit = explicit or explicit_shuffle(spark)
    if explicit:
        partitions = int(explicit)
    else:
        largest = max(silver.rows(name) for name in (SALES_CONSOLIDATED, "orders", "payments"))
        partitions = shuffle_partitions(largest)
    spark.conf.set(SHUFFLE_KEY, str(partitions))
    return partitions


def release(tables: dict[str, DataFrame]) -> None:
    for frame in [*tables.values(), *getattr(tables, "cached", [])]:
        if frame.is_cached:
            frame.unpersist()


# -- writing, through Hadoop's FileSystem (file://, s3a://, hdfs:// alike) --------------------
def _fs(spark: SparkSession, url: str):
    jvm = spark._jvm
    path = jvm.org.apache.hadoop.fs.Path(url)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def write_table(
    spark: SparkSession, frame: DataFrame, gold_url: str, name: str, *, tidy: bool = True
) -> str:
    """Write `frame` to `<gold>/<table>/` atomically per table: Parquet into a staging
    directory, then a rename over the previous table. Returns the table's URL. `tidy`:
    remove the staging directory if it is left empty (False while other writes run).

    One file per table, rows in `GOLD_WRITE_ORDER`: gold tables are small (the fact is ~10 MB
    for the real Olist set), one object is what a warehouse load and polars read best, and
    on an S3 lake it lets the publish step replace a table with a single PUT. (A global
    `orderBy` would cost a sampling job per table; one sorted partition does not.)
    """
    gold = gold_url.rstrip("/")
    target = f"{gold}/{name}"
    staged = f"{gold}/{GOLD_STAGING}/{name}-{uuid.uuid4().hex[:12]}"
    order = [F.col(key).asc_nulls_last() for key in GOLD_WRITE_ORDER[name]]
    frame.coalesce(1).sortWithinPartitions(*order).write.mode("errorifexists").parquet(staged)
    fs, target_path = _fs(spark, target)
    HadoopPath = spark._jvm.org.apache.hadoop.fs.Path
    previous = HadoopPath(f"{staged}.previous")
    had_previous = fs.exists(target_path)
    if had_previous and not fs.rename(target_path, previous):
        raise GoldJobError(f"Could not move the previous {target} aside; is it writable?")
    if not fs.rename(HadoopPath(staged), target_path):
        if had_previous:
            fs.rename(previous, target_path)  # put the old table back
        raise GoldJobError(f"Could not rename {staged} to {target}; the old table is kept.")
    if had_previous:
        fs.delete(previous, True)
    if tidy:
        _drop_empty_staging(spark, gold)
    return target


def parquet_rows(spark: SparkSession, table_url: str) -> int:
    """Rows of a written table, from its Parquet footers (no Spark job)."""
    jvm = spark._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    fs, path = _fs(spark, table_url)
    rows = 0
    for status in fs.listStatus(path):
        name = status.getPath().getName()
        if name.endswith(".parquet") and not name.startswith(("_", ".")):
            source = jvm.org.apache.parquet.hadoop.util.HadoopInputFile.fromStatus(status, conf)
            reader = jvm.org.apache.parquet.hadoop.ParquetFileReader.open(source)
            try:
                rows += reader.getRecordCount()
            finally:
                reader.close()
    return rows


def _drop_empty_staging(spark: SparkSession, gold_url: str) -> None:
    fs, staging = _fs(spark, f"{gold_url.rstrip('/')}/{GOLD_STAGING}")
    if fs.exists(staging) and len(fs.listStatus(staging)) == 0:
        fs.delete(staging, False)


def run_gold(
    spark: SparkSession,
    silver_url: str,
    gold_url: str,
    log: logging.Logger | logging.LoggerAdapter | None = None,
) -> dict[str, int]:
    """Build every gold table from `silver_url` and write it under `gold_url`.

    Returns {table: rows}, read from the written files' footers. Raises `MissingSilverDataset`
    when a required silver dataset is absent (IPCA and weather are optional: their columns
    are then null, with a warning) and `GoldJobError` when a table cannot be swapped in.
    """
    log = log or LOG
    silver = Silver(spark, silver_url, log)
    size_shuffle(spark, silver)
    tables = build_gold(silver)

    local_gold = local_path(gold_url) if arrow_available() else None

    def write(name: str) -> int:
        if local_gold is None:  # a remote root: Spark's writer (Hadoop FS, S3A)
            target = write_table(spark, tables[name], gold_url, name, tidy=False)
            count = parquet_rows(spark, target)
        else:  # a local root: one Arrow collect, written by pyarrow (spark/arrow_write.py)
            try:
                written, count = write_table_arrow(
                    tables[name], local_gold, name, GOLD_WRITE_ORDER[name], GOLD_STAGING
                )
            except OSError as exc:
                raise GoldJobError(
                    f"Could not write gold table {name} under {local_gold} ({exc.strerror}); "
                    "is it writable? The previous table, if any, is kept."
                ) from None
            target = str(written)
        log.info("Gold table %s: %s rows at %s", name, f"{count:,}", target)
        return count

    # Several writes at once: each is a short Spark job whose stages are mostly scheduling
    # and single-task steps, so one job alone leaves cores idle on a small machine.
    try:
        with ThreadPoolExecutor(WRITERS, thread_name_prefix="gold-write") as pool:
            queue = [*FIRST, *(name for name in tables if name not in FIRST)]
            counts = dict(zip(queue, pool.map(write, queue), strict=True))
    finally:
        release(tables)
    _drop_empty_staging(spark, gold_url)
    rows = {name: counts[name] for name in GOLD_TABLES}
    if "ipca_monthly" in silver.missing:
        log.warning("No IPCA in silver: dim_date's IPCA is null, revenue_deflated = revenue.")
    if "weather_daily" in silver.missing:
        log.warning("No weather in silver: sales_weather_daily's weather columns are null.")
    return rows


# -- command line ---------------------------------------------------------------------------
def _s3a_url(url: str) -> str:
    return "s3a://" + url.removeprefix("s3://") if url.startswith("s3://") else url


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m spark.gold_job",
        description="Build Cofre's gold layer (star schema + BI aggregates) from silver.",
    )
    parser.add_argument("--silver", required=True, help="silver root: a directory or s3a:// URL")
    parser.add_argument("--gold", required=True, help="gold root: a directory or s3a:// URL")
    parser.add_argument(
        "--master", help="Spark master URL (default local[*], or what spark-submit was given)"
    )
    parser.add_argument("--app-name", default="cofre-gold", help="Spark application name")
    parser.add_argument("--ui", action="store_true", help="start the Spark UI (port 4040)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(  # the log on stderr, the JSON summary on stdout (one line)
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
        force=True,
    )
    silver_url, gold_url = _s3a_url(args.silver), _s3a_url(args.gold)
    uses_s3 = any(url.startswith("s3a://") for url in (silver_url, gold_url))
    started = time.perf_counter()
    spark = build_session(
        args.master,
        app_name=args.app_name,
        ui=True if args.ui else None,
        s3=S3AOptions.from_env() if uses_s3 else None,
    )
    session_seconds = time.perf_counter() - started
    if uses_s3 and not s3a_available(spark):
        LOG.error(
            "s3a:// needs the hadoop-aws connector on the classpath (see docs/gold.md), or "
            "run the gold stage from Cofre (python -m flows.gold), which stages through a "
            "local directory."
        )
        return 2
    rows = run_gold(spark, silver_url, gold_url)
    summary = {
        "gold": gold_url,
        "rows": rows,
        "session_seconds": round(session_seconds, 2),
        "compute_seconds": round(time.perf_counter() - started - session_seconds, 2),
    }
    print(json.dumps(summary), flush=True)  # spark-submit merges the driver's stderr in
    spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
