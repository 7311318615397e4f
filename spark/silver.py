"""The silver layer as Spark DataFrames: `<silver>/<dataset>/` holds Parquet (`data.parquet`)
beside a `_manifest.json` that Spark skips (it ignores `_`- and `.`-prefixed files)."""

from __future__ import annotations

import json
import logging

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from spark.errors import MissingSilverDataset

LOG = logging.getLogger(__name__)
SPARK_SCHEMA = "org.apache.spark.sql.parquet.row.metadata"  # a Spark writer's footer key


class Silver:
    """Reads each silver dataset once, from a directory or a `file://`/`s3a://` URL (the
    datasets gold reads, and the optional ones, are `GOLD_INPUTS` in validation/catalog.py)."""

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
        self._parts: dict[str, list] = {}  # dataset -> Hadoop FileStatus of its Parquet files
        self._rows: dict[str, int] = {}

    @property
    def missing(self) -> list[str]:
        """Optional datasets that were asked for and not found."""
        return sorted(self._missing)

    def url(self, name: str) -> str:
        return f"{self.root}/{name}"

    def _list(self, name: str) -> list:
        if name not in self._parts:
            jvm = self.spark._jvm
            path = jvm.org.apache.hadoop.fs.Path(self.url(name))
            fs = path.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration())
            statuses = fs.listStatus(path) if fs.exists(path) else []
            self._parts[name] = [s for s in statuses if _is_part(s.getPath().getName())]
        return self._parts[name]

    def exists(self, name: str) -> bool:
        """Whether `<root>/<name>/` holds at least one Parquet file (asks Hadoop's FS)."""
        return bool(self._list(name))

    def rows(self, name: str) -> int:
        """Rows of a dataset, from its Parquet footers (no Spark job); 0 when it is absent."""
        if name not in self._rows:
            self._rows[name] = sum(self._footer(s)[1] for s in self._list(name))
        return self._rows[name]

    def _footer(self, status) -> tuple[StructType, int]:
        """(the Spark schema Spark would infer, rows) of one Parquet file, read in the driver.

        Spark infers a Parquet schema with a job (a task reading footers) per dataset; the
        same converter Spark uses, run here on the one footer, gives the identical schema.
        """
        jvm = self.spark._jvm
        conf = self.spark.sparkContext._jsc.hadoopConfiguration()
        source = jvm.org.apache.parquet.hadoop.util.HadoopInputFile.fromStatus(status, conf)
        reader = jvm.org.apache.parquet.hadoop.ParquetFileReader.open(source)
        try:
            meta = reader.getFooter().getFileMetaData()
            parquet_schema, written_by_spark = meta.getSchema(), meta.getKeyValueMetaData()
            rows = reader.getRecordCount()
        finally:
            reader.close()
        if SPARK_SCHEMA in written_by_spark:  # Spark reads back the schema it wrote
            return StructType.fromJson(json.loads(written_by_spark[SPARK_SCHEMA])), rows
        sql_conf = self.spark._jsparkSession.sessionState().conf()
        converter = jvm.org.apache.spark.sql.execution.datasources.parquet
        schema = converter.ParquetToSparkSchemaConverter(sql_conf).convert(parquet_schema)
        return StructType.fromJson(json.loads(schema.json())), rows

    def table(self, name: str) -> DataFrame:
        """The dataset; raises `MissingSilverDataset` naming the path and what to run."""
        if name not in self._frames:
            if not self.exists(name):
                raise MissingSilverDataset(
                    f"Silver dataset {name!r} is missing at {self.url(name)}. Build silver "
                    "first (python -m flows.silver), or point --silver at the right lake."
                )
            parts = self._list(name)
            reader = self.spark.read
            if len(parts) == 1:  # several parts may need merging: Spark infers those itself
                schema, self._rows[name] = self._footer(parts[0])
                reader = reader.schema(schema)
            self._frames[name] = reader.parquet(self.url(name))
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


def _is_part(name: str) -> bool:
    # what Spark reads in a dataset directory: it skips `_`- and `.`-prefixed files
    return name.endswith(".parquet") and not name.startswith(("_", "."))
