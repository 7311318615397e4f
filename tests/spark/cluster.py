"""A Spark standalone cluster for tests, started from pyspark's own jars (`bin/spark-class`).

Master and worker bind to 127.0.0.1 on free ports, log under the given directory, run in
their own process groups and are stopped by process group. `start_master` returns once the
master is ALIVE; `start_worker` once the master lists the worker as alive.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pyspark

from tests.services import free_port, stop_process_group

SPARK_CLASS = Path(pyspark.__file__).parent / "bin" / "spark-class"
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"


def cluster_env(log_dir: Path) -> dict[str, str]:
    """Environment for the daemons and for drivers talking to them: everything on loopback."""
    env = {k: v for k, v in os.environ.items() if k != "SPARK_HOME"}
    return env | {
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOG_DIR": str(log_dir),
        "SPARK_DAEMON_MEMORY": "256m",  # master and worker hold only bookkeeping
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    }


@dataclass
class Cluster:
    url: str  # spark://127.0.0.1:<port>
    webui: str  # http://127.0.0.1:<port>
    log_dir: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def status(self) -> dict:
        """The master's JSON status (workers, applications)."""
        with urllib.request.urlopen(f"{self.webui}/json/", timeout=5) as response:
            return json.load(response)

    def alive_workers(self) -> int:
        return sum(1 for w in self.status().get("workers", []) if w.get("state") == "ALIVE")

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.log_dir.glob("*.log"))

    def stop(self) -> None:
        for process in reversed(self.processes):  # worker (and its executors) first
            stop_process_group(process)


def _spawn(cluster: Cluster, name: str, args: list[str]) -> subprocess.Popen:
    log = open(cluster.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - lives with the daemon
    process = subprocess.Popen(
        [str(SPARK_CLASS), *args], env=cluster_env(cluster.log_dir), cwd=cluster.log_dir,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    cluster.processes.append(process)
    return process


def _wait(cluster: Cluster, ready, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in cluster.processes):
            cluster.stop()
            raise RuntimeError(f"Spark {what} exited early:\n{cluster.logs()}")
        try:
            if ready():
                return
        except OSError:
            pass  # the web UI is not up yet
        time.sleep(0.5)
    cluster.stop()
    raise RuntimeError(f"Spark {what} not ready in {timeout} s:\n{cluster.logs()}")


def start_master(log_dir: Path, timeout: float = 120) -> Cluster:
    log_dir.mkdir(parents=True, exist_ok=True)
    port, webui = free_port(), free_port()
    cluster = Cluster(f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{webui}", log_dir)
    _spawn(cluster, "master", [MASTER_CLASS, "--host", "127.0.0.1", "--port", str(port),
                               "--webui-port", str(webui)])  # fmt: skip
    _wait(cluster, lambda: cluster.status().get("status") == "ALIVE", "master", timeout)
    return cluster


def start_worker(
    cluster: Cluster, cores: int = 1, memory: str = "1g", timeout: float = 120
) -> None:
    work = cluster.log_dir / "work"
    work.mkdir(exist_ok=True)
    _spawn(cluster, "worker", [WORKER_CLASS, cluster.url, "--host", "127.0.0.1",
                               "--webui-port", str(free_port()), "--cores", str(cores),
                               "--memory", memory, "--work-dir", str(work)])  # fmt: skip
    _wait(cluster, lambda: cluster.alive_workers() >= 1, "worker", timeout)
