"""The SparkSession keeps Spark's start-up banner and known-harmless warnings off the console
(spark/session.py, spark/log4j2.properties), and its C1-only driver keeps a full-size code cache.

The driver JVM writes its log4j lines to the process's stderr, which no Python logger sees:
a session is built in a child process and its stderr read.
"""

from __future__ import annotations

import inspect
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
print("jit", *jit_flags(spark), flush=True)
spark.stop()
"""


def jit_flags(spark) -> list[str]:
    """The driver JVM's JIT level and reserved code cache, as HotSpot reports them."""
    jvm = spark._jvm
    kind = jvm.java.lang.Class.forName("com.sun.management.HotSpotDiagnosticMXBean")
    bean = jvm.java.lang.management.ManagementFactory.getPlatformMXBean(kind)
    flags = ("TieredStopAtLevel", "ReservedCodeCacheSize")
    return [bean.getVMOption(flag).getValue() for flag in flags]


# What tiered compilation reserves by default; with C1 only the JVM would reserve 48 MiB.
CODE_CACHE_BYTES = str(240 * 1024 * 1024)


def test_a_window_over_a_whole_table_does_not_warn_on_the_console():
    run = subprocess.run(
        [sys.executable, "-c", inspect.getsource(jit_flags) + SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.split() == ["quiet", "5", "loud", "5", "jit", "1", CODE_CACHE_BYTES]
    quiet, marked, loud = run.stderr.partition("MARK: WindowExec at WARN")
    assert marked, run.stderr[-3000:]
    assert WARNING not in quiet, quiet[-3000:]
    assert not [line for line in BANNER if line in quiet], quiet[-3000:]
    assert WARNING in loud, "at WARN the same window must warn, else the check proves nothing"


def test_the_shared_test_session_has_the_full_code_cache_too(spark):
    """The test suite's one driver runs every Spark test: with the C1-only JIT's default
    48 MiB code cache it ran out ("Out of space in CodeCache for adapters") and Spark stopped
    the context under the tests that followed."""
    assert jit_flags(spark) == ["1", CODE_CACHE_BYTES]
