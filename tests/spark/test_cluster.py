"""Gold on a real Spark standalone cluster equals gold on `local`, and a bad master fails fast.

The cluster (tests/spark/cluster.py) has one worker with one core, so its runs go one after
another; the lake is a local directory, visible to the worker because it is this machine.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from blocks.errors import ConfigurationError
from blocks.lake import Lake
from spark.session import SparkMasterUnavailable, build_session
from tasks.gold import run as gold_stage
from tasks.layers.gold import read_current_gold
from tests.services import free_port
from tests.spark.cluster import cluster_env, start_master
from tests.spark.conftest import ROOT, SPARK_SUBMIT, TEST_CONF
from tests.spark.pinned_input import frames_fingerprint, gold_fingerprint
from tests.spark.test_gold_pinned import PINNED


def _apps(cluster) -> list[str]:
    status = cluster.status()
    return [app["name"] for app in status["activeapps"] + status["completedapps"]]


def _flows_gold(master: str, home: Path, prefect_api, log_dir: Path, **env: str):
    command = [sys.executable, "-m", "flows.gold", "--master", master]
    environment = cluster_env(log_dir) | {
        "COFRE_HOME": str(home), "PREFECT_API_URL": prefect_api.url, **env
    }  # fmt: skip
    return subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600
    )


def test_gold_stage_on_the_cluster_equals_local(
    spark_cluster, prefect_api, synthetic_silver_dir, duckdb_synthetic_gold, tmp_path
):
    home = tmp_path / "home"
    shutil.copytree(synthetic_silver_dir, home / "lake" / "silver")
    before = _apps(spark_cluster).count("cofre-gold")
    done = _flows_gold(spark_cluster.url, home, prefect_api, spark_cluster.log_dir)
    assert done.returncode == 0, done.stderr[-4000:] + spark_cluster.logs()
    assert _apps(spark_cluster).count("cofre-gold") == before + 1  # it ran on the cluster
    _, frames = read_current_gold(Lake.from_url(str(home / "lake")))
    assert frames_fingerprint(frames) == gold_fingerprint(duckdb_synthetic_gold[0]) == PINNED


def test_spark_submit_on_the_cluster_equals_local(
    spark_cluster, synthetic_silver_dir, duckdb_synthetic_gold, tmp_path
):
    command = [str(SPARK_SUBMIT), "--master", spark_cluster.url]
    for key, value in TEST_CONF.items():  # tiny data: few partitions, no code generation
        command += ["--conf", f"{key}={value}"]
    command += [str(ROOT / "spark" / "gold_job.py"), "--app-name", "cofre-submit"]
    command += ["--silver", str(synthetic_silver_dir), "--gold", str(tmp_path / "gold")]
    done = subprocess.run(
        command, cwd=tmp_path, env=cluster_env(spark_cluster.log_dir),
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "cofre-submit" in _apps(spark_cluster)
    assert (
        gold_fingerprint(tmp_path / "gold") == gold_fingerprint(duckdb_synthetic_gold[0]) == PINNED
    )


def test_an_unreachable_master_is_named_in_seconds():
    url = f"spark://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    with pytest.raises(SparkMasterUnavailable, match=rf"Spark master {url} is unreachable"):
        build_session(url)
    with pytest.raises(ConfigurationError, match=r"unreachable .*COFRE_SPARK_MASTER"):
        gold_stage.get_spark(url)  # the gold stage's face: a CofreError
    assert time.monotonic() - started < 15


@pytest.fixture(scope="module")
def idle_master(tmp_path_factory):
    """A master that never gets a worker."""
    cluster = start_master(tmp_path_factory.mktemp("idle-master"))
    yield cluster
    cluster.stop()


def test_a_master_without_workers_fails_in_bounded_time(idle_master, prefect_api, tmp_path):
    started = time.monotonic()
    done = _flows_gold(
        idle_master.url, tmp_path / "home", prefect_api, tmp_path,
        COFRE_SPARK_EXECUTOR_TIMEOUT="8",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr[-4000:]
    assert (
        f"ConfigurationError: Spark master {idle_master.url} gave Cofre no executor within 8 s"
        in done.stderr
    ), done.stderr[-4000:]
    assert "Start a worker (docs/scaling.md)" in done.stderr
    assert time.monotonic() - started < 120  # not a hang (Prefect and JVM start included)
    assert idle_master.status()["activeapps"] == []  # the waiting application was stopped
