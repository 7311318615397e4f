"""This process's SparkSession for the gold stage: started on first use, warmed up while the
earlier stages run, its jobs cancelled by the gold time limit, stopped when no Spark work is
left. One session per process (a JVM costs seconds and memory), guarded by one lock."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from blocks.errors import ConfigurationError
from tasks.runlog import run_logger

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_spark: SparkSession | None = None
_spark_master: str | None = None
_spark_lock = threading.Lock()  # a warm-up thread and the gold stage may both ask


def get_spark(master: str | None = None) -> SparkSession:
    """This process's SparkSession: started on first use (seconds), reused afterwards.

    Asking for a different master than the running session's stops it and starts anew.
    Raises `ConfigurationError` naming the URL when a cluster master is unreachable or gives
    no executor in time (spark/session.py).
    """
    from spark.session import SparkMasterUnavailable, build_session, check_master_reachable

    global _spark, _spark_master
    with _spark_lock:
        if _spark is not None and _spark.sparkContext._jsc is None:
            _spark = None  # stopped elsewhere (a test fixture, spark.stop())
        try:
            if _spark is not None and master not in (None, _spark_master):
                check_master_reachable(master)  # keep the working session for a bad URL
                _spark.stop()
                _spark = None
            if _spark is None:
                _spark = build_session(master, app_name="cofre-gold")
                _spark_master = master or _spark.sparkContext.master
        except SparkMasterUnavailable as exc:
            raise ConfigurationError(str(exc)) from None
        return _spark


def stop_spark() -> None:
    """End this process's SparkSession and its JVM, when a run has no Spark work left: the
    warehouse load then runs without the idle JVM beside it (the run's memory peak at 10x)."""
    global _spark, _spark_master
    with _spark_lock:
        if _spark is not None:
            from spark.session import stop_session_and_jvm

            stop_session_and_jvm(_spark)
            _spark, _spark_master = None, None


def cancel_spark_jobs() -> None:
    """Cancel every running Spark job of this process's session (from the time limit's
    watchdog thread: it does not wait for the session lock)."""
    spark = _spark
    if spark is not None and spark.sparkContext._jsc is not None:
        run_logger(__name__).warning("Cancelling every running Spark job of this session.")
        spark.sparkContext.cancelAllJobs()


def warm_up_spark(master: str | None = None) -> threading.Thread:
    """Start the SparkSession in the background (the JVM takes 8+ s to boot) while the
    earlier stages run; the gold stage then finds it ready. A failure here is left for
    the gold stage to raise with its own message."""

    def start() -> None:
        try:
            from spark.session import warm_up

            # A first query loads and compiles Spark SQL's classes (seconds in a fresh JVM)
            # while the earlier stages run, not in the gold stage.
            warm_up(get_spark(master))
        except Exception as exc:  # the gold stage retries and reports
            run_logger(__name__).debug("Spark warm-up failed (%s); gold will retry.", exc)

    thread = threading.Thread(target=start, name="spark-warm-up", daemon=True)
    thread.start()
    return thread
