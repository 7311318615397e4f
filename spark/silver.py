"""The silver layer as Spark DataFrames: `<silver>/<dataset>/` holds Parquet (`data.parquet`)
beside a `_manifest.json` that Spark skips (it ignores `_`- and `.`-prefixed files)."""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame, SparkSession

LOG = logging.getLogger(__name__)

# Silver datasets another stage may not have built yet; gold degrades instead of failing.
OPTIONAL = ("ipca_monthly", "weather_daily")
# Everything the gold job reads (category_translation only if products lack the English name).
INPUTS = (
    "orders", "order_items", "payments", "reviews", "customers", "products", "sellers",
    "category_translation", "sales_consolidated", *OPTIONAL,
)  # fmt: skip


class MissingSilverDataset(RuntimeError):
    """A silver dataset the gold job needs is not in the lake."""


class Silver:
    """Reads each silver dataset once, from a directory or a `file://`/`s3a://` URL."""

    def __init__(
        self,
        spark: SparkSession,
        root: str,
        log: logging.Logger | logging.LoggerAdapter | None = None,
    ) -> None:
        self.spark = spark
        self.root = root.rstrip("/")
        self.log = log or LOG
        self._frames: dict[str, DataFrame] = {}
        self._missing: set[str] = set()

    @property
    def missing(self) -> list[str]:
        """Optional datasets that were asked for and not found."""
        return sorted(self._missing)

    def url(self, name: str) -> str:
        return f"{self.root}/{name}"

    def exists(self, name: str) -> bool:
        """Whether `<root>/<name>/` holds at least one Parquet file (asks Hadoop's FS)."""
        jvm = self.spark._jvm
        path = jvm.org.apache.hadoop.fs.Path(self.url(name))
        fs = path.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration())
        if not fs.exists(path):
            return False
        return any(s.getPath().getName().endswith(".parquet") for s in fs.listStatus(path))

    def table(self, name: str) -> DataFrame:
        """The dataset; raises `MissingSilverDataset` naming the path and what to run."""
        if name not in self._frames:
            if not self.exists(name):
                raise MissingSilverDataset(
                    f"Silver dataset {name!r} is missing at {self.url(name)}. Build silver "
                    "first (python -m flows.silver), or point --silver at the right lake."
                )
            self._frames[name] = self.spark.read.parquet(self.url(name))
        return self._frames[name]

    def optional(self, name: str) -> DataFrame | None:
        """The dataset, or None with a logged warning when the lake does not have it."""
        if name in self._missing:
            return None
        if name in self._frames or self.exists(name):
            return self.table(name)
        self._missing.add(name)
        self.log.warning(
            "Silver dataset %r is missing at %s: gold continues without it (see docs/gold.md).",
            name,
            self.url(name),
        )
        return None
