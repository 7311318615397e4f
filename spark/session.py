"""The SparkSession builder: `local[*]` by default, any master URL, S3A when it is there.

The same builder serves the job in process (a Prefect task calls `run_gold`), from
`python -m spark.gold_job` and under `spark-submit`. Under spark-submit the settings given on
its command line (`--master`, `--conf`) win: the defaults here only fill the gaps.

S3: Spark reads `s3a://` only when the hadoop-aws connector is on the classpath (see
docs/gold.md). Credentials never go on a command line: S3A's default provider chain reads the
standard AWS environment variables, instance profiles and Hadoop credential providers; when a
caller holds decrypted keys (the lake's credentials block) they are set on the driver's Hadoop
configuration, which Spark's redaction (`spark.redaction.regex`) masks in the UI and logs.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from pyspark import SparkConf, SparkContext
from pyspark.sql import SparkSession

LOG = logging.getLogger(__name__)
DEFAULT_MASTER = "local[*]"
DEFAULT_APP_NAME = "cofre-gold"
S3A_FILESYSTEM = "org.apache.hadoop.fs.s3a.S3AFileSystem"
S3A_SECRET_KEYS = ("fs.s3a.access.key", "fs.s3a.secret.key", "fs.s3a.session.token")

# Sized for a laptop or a small VM. Shuffle partitions are not set here: the gold job sizes
# them from silver's row counts (spark/gold_job.py), unless a caller or spark-submit sets them.
LOG4J2_CONFIG = Path(__file__).with_name("log4j2.properties")
# The C1 JIT only. With it the JVM also falls back to the client's code cache, 48 MiB in one
# heap, where tiered compilation reserves 240 MiB: a long-lived driver (one session running
# many jobs, as the test suite does) filled it and died with "Out of space in CodeCache for
# adapters" (Spark then stops its context). Reserving what tiered compilation would is
# address space, not memory: the cache only takes what is compiled into it.
C1_ONLY_JIT = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m"
SMALL_MACHINE_CONF: dict[str, str] = {
    "spark.api.mode": "classic",  # the job uses the JVM (Hadoop FileSystem, S3A checks)
    "spark.default.parallelism": "8",
    # AQE stays on: without it the static planner broadcast a dimension at 10x whose job
    # queued behind the writers and hit the 300 s broadcast timeout on a loaded machine.
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.parquet.compression.codec": "zstd",
    # C1 JIT only: the job is a few dozen short queries, and C2 compiling them took a core
    # of a 2-core VM (about a quarter of the driver's CPU time at real size). The log4j2
    # configuration keeps Spark's start-up banner off the console (spark/log4j2.properties).
    "spark.driver.extraJavaOptions": (
        f"{C1_ONLY_JIT} -Dlog4j2.configurationFile={LOG4J2_CONFIG.as_uri()}"
    ),
}


# Spark's own warnings that say nothing about Cofre's job, kept off the console (log4j2
# logger -> level). WindowExec warns "No Partition Defined for Window operation" for every
# window over a whole table: the marts rank and share their own aggregates that way by
# design (tens of rows: categories, payment types), and the warm-up's window is one too.
QUIET_SPARK_LOGGERS: dict[str, str] = {"org.apache.spark.sql.execution.window.WindowExec": "ERROR"}


# How long a cluster master may take to give the application its first executor; a master
# with no free worker would otherwise keep the job waiting for resources forever. Read from
# the environment here, not through blocks/settings.py: spark/ runs under spark-submit with
# pyspark only and must not import blocks.
EXECUTOR_TIMEOUT_ENV = "COFRE_SPARK_EXECUTOR_TIMEOUT"
DEFAULT_EXECUTOR_TIMEOUT = 60.0
CONNECT_TIMEOUT = 5.0


class SparkMasterUnavailable(RuntimeError):
    """The cluster master cannot be reached, or gave the application no executor in time."""


def _standalone_addresses(master: str) -> list[tuple[str, int]]:
    """(host, port) of each master in `spark://h1:7077[,h2:7077]`; [] for other masters."""
    if not master.startswith("spark://"):
        return []
    addresses = []
    for part in master.removeprefix("spark://").split(","):
        host, _, port = part.rpartition(":")
        addresses.append((host or part, int(port) if port.isdigit() else 7077))
    return addresses


def check_master_reachable(master: str | None, timeout: float = CONNECT_TIMEOUT) -> None:
    """Raise `SparkMasterUnavailable` unless some master of a `spark://` URL accepts TCP.

    Spark itself retries an unreachable standalone master for a minute, then stops the
    context with "All masters are unresponsive"; this says so in seconds, naming the URL.
    """
    addresses = _standalone_addresses(master or "")
    failures = []
    for host, port in addresses:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return
        except OSError as exc:
            failures.append(f"{host}:{port}: {exc.strerror or exc}")
    if failures:
        raise SparkMasterUnavailable(
            f"Spark master {master} is unreachable ({'; '.join(failures)}). Start the master "
            "(docs/scaling.md) or fix --master / COFRE_SPARK_MASTER."
        )


def executor_timeout() -> float:
    """Seconds to wait for a first executor: `COFRE_SPARK_EXECUTOR_TIMEOUT`, default 60."""
    value = os.environ.get(EXECUTOR_TIMEOUT_ENV, "")
    try:
        return float(value) if value else DEFAULT_EXECUTOR_TIMEOUT
    except ValueError:
        raise SparkMasterUnavailable(
            f"{EXECUTOR_TIMEOUT_ENV}={value!r} is not a number of seconds: set it to e.g. 60."
        ) from None


def executor_count(spark: SparkSession) -> int:
    """Executors registered with this application (the driver's own entry excluded)."""
    infos = spark.sparkContext._jsc.sc().statusTracker().getExecutorInfos()
    return max(len(infos) - 1, 0)


def wait_for_executors(spark: SparkSession, timeout: float) -> None:
    """Return once a cluster application has an executor; stop it and raise if none comes
    within `timeout` s (Spark would wait forever: "Initial job has not accepted any
    resources"). Local masters run in the driver: nothing to wait for."""
    master = spark.sparkContext.master
    if master.startswith("local"):
        return
    deadline = time.monotonic() + timeout
    while executor_count(spark) == 0:
        if time.monotonic() >= deadline:
            spark.stop()
            raise SparkMasterUnavailable(
                f"Spark master {master} gave Cofre no executor within {timeout:.0f} s: it has "
                "no alive worker with a free core and enough memory. Start a worker "
                "(docs/scaling.md), free one, or raise COFRE_SPARK_EXECUTOR_TIMEOUT."
            )
        time.sleep(0.25)


@dataclass(frozen=True)
class S3AOptions:
    """Where an S3/MinIO lake is and, optionally, the keys to reach it (never printed)."""

    endpoint: str | None = None
    region: str | None = None
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    sse: str | None = "AES256"

    @classmethod
    def from_env(cls) -> S3AOptions:
        """Endpoint and region from the AWS SDK's variables; keys stay with S3A's chain."""
        return cls(
            endpoint=os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"),
            region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        )

    def hadoop_conf(self) -> dict[str, str]:
        """The `fs.s3a.*` Hadoop settings for these options."""
        conf: dict[str, str] = {}
        if self.endpoint:
            conf["fs.s3a.endpoint"] = self.endpoint
            conf["fs.s3a.path.style.access"] = "true"  # MinIO and moto serve path-style
            conf["fs.s3a.connection.ssl.enabled"] = str(self.endpoint.startswith("https")).lower()
        if self.region:
            conf["fs.s3a.endpoint.region"] = self.region
        if self.sse == "AES256":
            conf["fs.s3a.encryption.algorithm"] = "SSE-S3"
        elif self.sse == "aws:kms":
            conf["fs.s3a.encryption.algorithm"] = "SSE-KMS"
        if self.access_key and self.secret_key:
            conf["fs.s3a.access.key"] = self.access_key
            conf["fs.s3a.secret.key"] = self.secret_key
            provider = "SimpleAWSCredentialsProvider"
            if self.session_token:
                conf["fs.s3a.session.token"] = self.session_token
                provider = "TemporaryAWSCredentialsProvider"
            conf["fs.s3a.aws.credentials.provider"] = f"org.apache.hadoop.fs.s3a.{provider}"
        return conf


def launched_by_spark_submit() -> bool:
    """True inside a driver started by spark-submit (it hands Python a running gateway)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def process_umask() -> str | None:
    """This process's umask as octal text ('077'), read without changing it (Linux /proc)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return line.split()[1][-3:]
    except OSError:
        pass
    return None  # elsewhere Hadoop keeps its default; setting os.umask to read it would race


def _already_set() -> set[str]:
    """Settings spark-submit was given (`--master`, `--conf`, spark-defaults.conf)."""
    if not launched_by_spark_submit():
        return set()
    SparkContext._ensure_initialized()  # connects to spark-submit's gateway, starts nothing
    return {key for key, _ in SparkConf().getAll()}


def build_session(
    master: str | None = None,
    *,
    app_name: str = DEFAULT_APP_NAME,
    ui: bool | None = None,
    s3: S3AOptions | None = None,
    conf: dict[str, str] | None = None,
) -> SparkSession:
    """A SparkSession for the gold job (the running one, if this process already has one).

    `master`: a master URL (`spark://host:7077`, `yarn`, `local[4]`); default `local[*]`, or
    whatever spark-submit was told. `ui`: start the Spark UI (default: off in process, as
    spark-submit says under it). `s3`: S3A settings, applied when the connector is loadable.
    A cluster master is checked first: `SparkMasterUnavailable` (naming the URL) when it is
    unreachable or gives no executor within `COFRE_SPARK_EXECUTOR_TIMEOUT` s (default 60).
    """
    given = _already_set()
    check_master_reachable(master or (SparkConf().get("spark.master") if given else None))
    defaults = dict(SMALL_MACHINE_CONF)  # only where spark-submit was not told otherwise
    if umask := process_umask():
        # Hadoop sets file modes itself (umask 022) whatever the process's: hand it ours.
        defaults["spark.hadoop.fs.permissions.umask-mode"] = umask
    if not launched_by_spark_submit():
        defaults["spark.ui.enabled"] = "false"
    explicit = dict(conf or {})  # what the caller asked for always wins
    if ui is not None:
        explicit["spark.ui.enabled"] = str(ui).lower()
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    elif "spark.master" not in given:
        builder = builder.master(DEFAULT_MASTER)
    settings = {key: value for key, value in defaults.items() if key not in given} | explicit
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    quiet_known_warnings(spark)
    wait_for_executors(spark, executor_timeout())
    if s3 is not None:
        configure_s3a(spark, s3)
    return spark


def quiet_known_warnings(spark: SparkSession) -> None:
    """Set each of `QUIET_SPARK_LOGGERS` to its level in the driver's log4j2 (their errors
    still show). The warnings are logged while the driver plans a query, so the driver's
    level is the one that counts."""
    jvm = spark._jvm
    configurator = jvm.org.apache.logging.log4j.core.config.Configurator
    for logger, level in QUIET_SPARK_LOGGERS.items():
        configurator.setLevel(logger, jvm.org.apache.logging.log4j.Level.toLevel(level))


def stop_session_and_jvm(spark: SparkSession) -> None:
    """Stop `spark` and end the driver JVM this process launched: `spark.stop()` alone leaves
    it resident (about 1.5 GiB at 10x Olist) until the process exits. The next session
    launches a fresh JVM."""
    from pyspark import SparkContext

    spark.stop()
    gateway = SparkContext._gateway
    if gateway is None:
        return
    process = getattr(gateway, "proc", None)  # None when the JVM was not launched from here
    gateway.shutdown()
    SparkContext._gateway = None
    SparkContext._jvm = None
    if process is not None and process.stdin is not None:
        process.stdin.close()  # the gateway JVM exits when its driver's pipe closes
        process.wait(timeout=60)


def warm_up(spark: SparkSession) -> None:
    """Run a tiny query of the gold job's kinds (Parquet-free: a join, a grouped aggregate, a
    window, an Arrow collect) so a fresh JVM loads and JIT-compiles the SQL engine's classes
    before the job needs them. Meant to overlap with other work: it changes no setting."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    rows = spark.range(64).select(
        (F.col("id") % 7).alias("k"), F.col("id").cast("double").alias("v"), F.col("id")
    )
    keys = spark.range(7).select(F.col("id").alias("k"), F.lit("x").alias("label"))
    grouped = (
        rows.join(keys, "k", "left")
        .groupBy("k", "label")
        .agg(F.sum("v").alias("v"), F.countDistinct("id").alias("n"))
        .withColumn("rank", F.row_number().over(Window.partitionBy(F.lit(0)).orderBy("v")))
    )
    try:
        grouped.toArrow()
    except ImportError:  # no pyarrow on this driver: the job then uses Spark's writer
        grouped.collect()


def s3a_available(spark: SparkSession) -> bool:
    """Whether the driver can load `S3AFileSystem` (the hadoop-aws jar is on the classpath)."""
    from py4j.protocol import Py4JJavaError

    try:
        spark._jvm.org.apache.spark.util.Utils.classForName(S3A_FILESYSTEM, False, False)
    except Py4JJavaError:
        return False
    return True


def configure_s3a(spark: SparkSession, s3: S3AOptions) -> bool:
    """Set the `fs.s3a.*` options on the driver's Hadoop configuration; False if no S3A.

    They travel to executors with each job's serialised Hadoop configuration, so keys are
    never written to a command line or spark-defaults. Raises `RuntimeError` if Spark's
    redaction pattern would show one of them in the UI.
    """
    if not s3a_available(spark):
        return False
    hadoop = spark.sparkContext._jsc.hadoopConfiguration()
    settings = s3.hadoop_conf()
    exposed = [
        key for key, hidden in redaction_covers(spark, S3A_SECRET_KEYS).items() if not hidden
    ]
    if exposed and any(key in settings for key in exposed):
        raise RuntimeError(
            f"spark.redaction.regex does not cover {exposed}: the Spark UI would show these "
            "credentials. Restore the default pattern or extend it before passing S3 keys."
        )
    for key, value in settings.items():
        hadoop.set(key, value)
    LOG.info(
        "S3A configured (endpoint %s); credentials: %s.",
        s3.endpoint or "AWS default",
        "from the caller, redacted in the Spark UI" if s3.access_key else "S3A provider chain",
    )
    return True


def redaction_covers(spark: SparkSession, keys: tuple[str, ...]) -> dict[str, bool]:
    """For each setting name, whether Spark itself redacts its value (UI, event log, logs).

    Asks the JVM's own `Utils.redact` with this session's `spark.redaction.regex`, so a
    customised pattern is checked too.
    """
    jvm = spark._jvm
    pairs = jvm.java.util.ArrayList()
    for key in keys:
        pairs.add(jvm.scala.Tuple2(key, "probe"))
    converters = jvm.scala.jdk.javaapi.CollectionConverters
    redacted = jvm.org.apache.spark.util.Utils.redact(
        spark.sparkContext._jsc.sc().conf(), converters.asScala(pairs).toSeq()
    )
    return {pair._1(): pair._2() != "probe" for pair in converters.asJava(redacted)}
