"""Gold fixtures: one SparkSession for the whole test session, the hand-built silver, and
the gold job run on it on each engine (DuckDB and Spark in this process) and, in the
background, through spark-submit.

Spark start-up dominates on a small machine, so the spark-submit run starts as soon as the
silver fixture exists and overlaps with the in-process tests; `test_spark_submit` waits for it.
`engine_gold` runs the job once per (engine, silver) and session: every test that compares
engines or tables reads the same runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyspark
import pytest

from spark.engine import DuckDBEngine
from spark.gold_job import run_gold
from spark.session import C1_ONLY_JIT, build_session
from tests.spark.gold_fixture import silver_frames, write_silver_dir

ROOT = Path(__file__).resolve().parents[2]
SPARK_SUBMIT = Path(pyspark.__file__).parent / "bin" / "spark-submit"
# Tiny data: JVM warm-up dominates, so few partitions, the C1 JIT only, and interpreted
# expressions instead of compiling generated code for every one of the job's queries.
TEST_CONF = {
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.driver.extraJavaOptions": C1_ONLY_JIT,
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}
MASTER = "local[2]"
ENGINES = ("duckdb", "spark")


@pytest.fixture(scope="session")
def silver_dir(tmp_path_factory) -> Path:
    return write_silver_dir(tmp_path_factory.mktemp("fixture-lake") / "silver", silver_frames())


@dataclass
class SubmittedJob:
    process: subprocess.Popen
    gold: Path
    log: Path

    def wait(self, timeout: float = 600) -> tuple[int, dict | None, str]:
        """(exit code, the job's JSON summary, its log)."""
        stdout, _ = self.process.communicate(timeout=timeout)
        log = self.log.read_text(errors="replace") + stdout
        # spark-submit merges the Python driver's stderr (the log) into stdout
        summaries = [line for line in stdout.splitlines() if line.startswith('{"gold"')]
        summary = json.loads(summaries[-1]) if summaries else None
        return self.process.returncode, summary, log


@pytest.fixture(scope="session")
def submitted_gold(silver_dir, tmp_path_factory) -> Iterator[SubmittedJob]:
    """The gold job on the fixture through spark-submit, as on a cluster (started now)."""
    out = tmp_path_factory.mktemp("submitted")
    env = {
        **{k: v for k, v in os.environ.items() if k != "SPARK_HOME"},
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    }
    command = [str(SPARK_SUBMIT), "--master", MASTER, "--conf", "spark.ui.enabled=false"]
    for key, value in TEST_CONF.items():
        command += ["--conf", f"{key}={value}"]
    command += [str(ROOT / "spark" / "gold_job.py"), "--silver", str(silver_dir)]
    command += ["--gold", str(out / "gold")]
    log = out / "spark-submit.log"
    with open(log, "wb") as stderr:
        process = subprocess.Popen(
            command, cwd=out, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    job = SubmittedJob(process, out / "gold", log)
    yield job
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def spark(submitted_gold):
    """The test session's one SparkSession (asking for `submitted_gold` first starts the
    spark-submit run before this JVM, so the two overlap)."""
    session = build_session(MASTER, app_name="cofre-tests", ui=False, conf=TEST_CONF)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def engine_gold(request, tmp_path_factory):
    """run(engine, silver_dir) -> (gold root, rows per table): the gold job on `engine`
    ("duckdb" or "spark", in this process), run once per session for each silver."""
    runs: dict[tuple[str, str], tuple[Path, dict[str, int]]] = {}

    def run(engine: str, silver: Path) -> tuple[Path, dict[str, int]]:
        key = (engine, str(silver))
        if key not in runs:
            gold = tmp_path_factory.mktemp(f"gold-{engine}") / "gold"
            if engine == "spark":
                from spark.spark_engine import SparkEngine

                job = SparkEngine(request.getfixturevalue("spark"))
            else:
                job = DuckDBEngine()
            try:
                runs[key] = gold, run_gold(job, str(silver), str(gold))
            finally:
                job.close()
        return runs[key]

    return run


@pytest.fixture(scope="session", params=ENGINES)
def gold_dir(request, engine_gold, silver_dir) -> tuple[Path, dict[str, int]]:
    """The gold job on the hand-built silver, on each engine: (gold root, rows per table)."""
    return engine_gold(request.param, silver_dir)


@pytest.fixture(scope="session")
def synthetic_silver_dir(tmp_path_factory) -> Path:
    """The pinned input: 300 synthetic orders through silver (tests/spark/pinned_input.py)."""
    from tests.spark.pinned_input import write_synthetic_silver

    return write_synthetic_silver(tmp_path_factory.mktemp("pinned-input"))


@pytest.fixture(scope="session", params=ENGINES)
def synthetic_gold(request, engine_gold, synthetic_silver_dir) -> tuple[Path, dict[str, int]]:
    """The gold job on the pinned input, on each engine."""
    return engine_gold(request.param, synthetic_silver_dir)


@pytest.fixture(scope="session")
def duckdb_synthetic_gold(engine_gold, synthetic_silver_dir) -> tuple[Path, dict[str, int]]:
    """The gold job on the pinned input, on DuckDB (what cluster runs are compared with)."""
    return engine_gold("duckdb", synthetic_silver_dir)


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory):
    """A Spark standalone master and one worker (1 core, 1 GiB) for the session."""
    from tests.spark.cluster import start_master, start_worker

    cluster = start_master(tmp_path_factory.mktemp("spark-cluster"))
    try:
        start_worker(cluster)
        yield cluster
    finally:
        cluster.stop()
