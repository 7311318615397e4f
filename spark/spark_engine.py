"""The Spark gold engine: the models run as written by `spark.sql`, on `local[*]`, a
standalone cluster or under spark-submit.

Silver is read through spark/silver.py (schemas from the Parquet footers, no inference job).
The tables the marts reuse (dimensions and facts) are cached once; each table leaves Spark as
one Arrow collect and is written by pyarrow (spark/gold_write.py) where the gold root is a
local or mounted directory, or by Spark's own writer to a remote root (`s3a://`).
"""

from __future__ import annotations

import logging
import uuid

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark.gold_write import sort_rows
from spark.silver import Silver
from validation.catalog import GOLD_STAGING, GOLD_WRITE_ORDER, SALES_CONSOLIDATED, gold_columns

LOG = logging.getLogger(__name__)
# Read by more than one mart: computed once, kept in memory (spilling to disk) for the run.
REUSED = ("dim_date", "dim_customer", "dim_product", "fact_sales", "fact_orders")
SPARK_TYPES = {
    "str": "string", "int": "int", "long": "bigint", "double": "double", "date": "date",
    "ts": "timestamp_ntz", "bool": "boolean",
}  # fmt: skip
SHUFFLE_KEY = "spark.sql.shuffle.partitions"
ROWS_PER_PARTITION = 250_000  # rows of the largest silver input per shuffle partition
MIN_PARTITIONS = 2  # both cores of a small machine


class SparkEngine:
    """The gold models on a SparkSession (the caller owns the session)."""

    name = "spark"
    exports_at_once = 3  # a collect is mostly scheduling: several keep the cores busy

    def __init__(
        self, spark: SparkSession, log: logging.Logger | logging.LoggerAdapter | None = None
    ):
        self.spark = spark
        self.log = log or LOG
        self._silver: dict[str, Silver] = {}
        self._cached: list[DataFrame] = []
        self._views: set[str] = set()
        quiet_whole_table_windows(spark)

    def _reader(self, directory: str) -> tuple[Silver, str]:
        root, name = directory.rstrip("/").rsplit("/", 1)
        if root not in self._silver:
            self._silver[root] = Silver(self.spark, root, self.log)
        return self._silver[root], name

    def register_parquet(self, view: str, directory: str) -> list[str] | None:
        silver, name = self._reader(directory)
        if not silver.exists(name):
            return None
        frame = silver.table(name)
        self._view(view, frame)
        return frame.columns

    def size_shuffle(self, silver_root: str) -> int:
        """Shuffle partitions from silver's row counts (Parquet footers, no job), unless the
        session was started with them (a caller's conf, spark-submit --conf)."""
        conf = self.spark.sparkContext.getConf()
        if conf.contains(SHUFFLE_KEY):
            partitions = int(conf.get(SHUFFLE_KEY))
        else:
            silver, _ = self._reader(f"{silver_root.rstrip('/')}/orders")
            largest = max(silver.rows(n) for n in (SALES_CONSOLIDATED, "orders", "payments"))
            partitions = shuffle_partitions(largest)
        self.spark.conf.set(SHUFFLE_KEY, str(partitions))
        return partitions

    def register_arrow(self, view: str, table: pa.Table) -> None:
        self._view(view, self.spark.createDataFrame(table))

    def create_view(self, view: str, sql: str) -> None:
        self._view(view, self.spark.sql(sql))

    def materialize(self, table: str, sql: str) -> None:
        frame = self.spark.sql(sql)
        if table in REUSED:
            frame = frame.cache()
            self._cached.append(frame)
        self._view(table, frame)

    def _view(self, name: str, frame: DataFrame) -> None:
        frame.createOrReplaceTempView(name)
        self._views.add(name)

    def rows(self, sql: str) -> list[tuple]:
        return [tuple(row) for row in self.spark.sql(sql).collect()]

    def to_arrow(self, table: str) -> pa.Table:
        # One collect, sorted by pyarrow in the driver: a global ORDER BY would cost Spark a
        # sampling job and a shuffle per table.
        return sort_rows(table, self.spark.table(table).toArrow())

    def write_remote(self, table: str, gold_url: str) -> str:
        """Write a table under a remote gold root (`s3a://`) with Spark's writer: the declared
        types, one file, rows in write order; staged and renamed through Hadoop's FS."""
        columns = [
            F.col(column).cast(SPARK_TYPES[kind]).alias(column)
            for column, (kind, _) in gold_columns(table).items()
        ]
        order = [F.col(key).asc_nulls_last() for key in GOLD_WRITE_ORDER[table]]
        frame = self.spark.table(table).select(*columns).coalesce(1).sortWithinPartitions(*order)
        gold = gold_url.rstrip("/")
        target, staged = f"{gold}/{table}", f"{gold}/{GOLD_STAGING}/{table}-{uuid.uuid4().hex[:12]}"
        frame.write.mode("errorifexists").parquet(staged)
        jvm = self.spark._jvm
        path = jvm.org.apache.hadoop.fs.Path
        fs = path(target).getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration())
        if fs.exists(path(target)):
            fs.delete(path(target), True)
        if not fs.rename(path(staged), path(target)):
            from spark.errors import GoldJobError

            raise GoldJobError(f"Could not rename {staged} to {target}; is it writable?")
        return target

    def close(self) -> None:
        for frame in self._cached:
            frame.unpersist()
        self._cached.clear()
        for view in sorted(self._views):
            self.spark.catalog.dropTempView(view)
        self._views.clear()


def quiet_whole_table_windows(spark: SparkSession) -> None:
    """Two marts rank or share over their whole (tiny: one row per category or payment type)
    result on purpose; Spark warns "No Partition Defined for Window operation" for each
    evaluation of them. Silence that one logger; every other warning stays."""
    jvm = spark._jvm
    jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(
        "org.apache.spark.sql.execution.window.WindowExec", jvm.org.apache.logging.log4j.Level.ERROR
    )


def shuffle_partitions(largest_rows: int) -> int:
    """Shuffle partitions for a gold run whose largest silver input has `largest_rows`."""
    return max(MIN_PARTITIONS, min(200, -(-largest_rows // ROWS_PER_PARTITION)))
