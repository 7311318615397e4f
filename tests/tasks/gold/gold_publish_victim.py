"""A gold run to be killed: `python -m tests.tasks.gold.gold_publish_victim LAKE MARKER POINT`.

Runs the real `run_gold_stage` on LAKE with a stand-in for the Spark job (no JVM), and stops
at POINT (touches MARKER, then sleeps until the test SIGKILLs the process group):
- `tables`: the stand-in has written 11 of the 14 tables into the new version, with
  sales_monthly's revenue doubled (what a mixed gold would show);
- `pointer`: the version is complete, sealed and gated; the pointer has not moved yet.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import tasks.gold.run as gold_stage
import tasks.gold.versions as gold_versions
from blocks.lake import Lake
from tests.spark.gold_fixture import expected_gold
from validation.catalog import GOLD_TABLES

STOP_AFTER_TABLES = 11


def _stop(marker: Path) -> None:
    marker.write_text("stopped")
    time.sleep(600)  # the test kills us here
    raise SystemExit("not killed")


def main(lake_url: str, marker: Path, point: str) -> None:
    gold = expected_gold()
    if point == "tables":
        gold["sales_monthly"] = gold["sales_monthly"].with_columns(
            revenue=gold["sales_monthly"]["revenue"] * 2
        )

    def run_gold(spark, silver_url, gold_url, log=None):
        for written, table in enumerate(GOLD_TABLES):
            if point == "tables" and written == STOP_AFTER_TABLES:
                _stop(marker)
            directory = Path(gold_url.removeprefix("file://")) / table
            directory.mkdir(parents=True)
            gold[table].write_parquet(directory / "part-00000-0a1b-c000.zstd.parquet")
            (directory / "_SUCCESS").touch()
        return {table: frame.height for table, frame in gold.items()}

    def make_current(lake, version, digest):
        _stop(marker)

    gold_stage.get_spark = lambda master=None: None
    gold_stage.run_gold = run_gold
    if point == "pointer":
        gold_versions.make_current = make_current
    gold_stage.run_gold_stage(Lake.from_url(lake_url), "killed-run")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), sys.argv[3])
