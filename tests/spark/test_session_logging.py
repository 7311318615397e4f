"""The SparkSession keeps Spark's start-up banner and known-harmless warnings off the console
(spark/session.py, spark/log4j2.properties).

The driver JVM writes its log4j lines to the process's stderr, which no Python logger sees:
a session is built in a child process and its stderr read.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WARNING = "No Partition Defined for Window operation"
# Spark's start-up banner and Hadoop's native-library warning (spark/log4j2.properties)
BANNER = ("Using Spark's default log4j profile", "Setting default log level", "NativeCodeLoader")

# One window over a whole table (what the marts do), then the same with WindowExec's level
# put back to WARN: the second must warn, or the first proves nothing.
SCRIPT = """
import sys
from pyspark.sql import Window, functions as F
from spark.session import build_session

spark = build_session("local[1]", conf={"spark.sql.shuffle.partitions": "1"})
ranked = spark.range(5).withColumn("rank", F.row_number().over(Window.orderBy("id")))
print("quiet", len(ranked.collect()), flush=True)
jvm = spark._jvm
jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(
    "org.apache.spark.sql.execution.window.WindowExec", jvm.org.apache.logging.log4j.Level.WARN
)
print("MARK: WindowExec at WARN", file=sys.stderr, flush=True)
print("loud", len(ranked.withColumn("again", F.lit(1)).collect()), flush=True)
spark.stop()
"""


def test_a_window_over_a_whole_table_does_not_warn_on_the_console():
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.split() == ["quiet", "5", "loud", "5"]
    quiet, marked, loud = run.stderr.partition("MARK: WindowExec at WARN")
    assert marked, run.stderr[-3000:]
    assert WARNING not in quiet, quiet[-3000:]
    assert not [line for line in BANNER if line in quiet], quiet[-3000:]
    assert WARNING in loud, "at WARN the same window must warn, else the check proves nothing"
