"""Gold at real size, on each engine: start-up and the gold job's compute, wall and CPU.

    python -m benchmarks.gold_benchmark                          # 99,441 orders, both engines
    python -m benchmarks.gold_benchmark --engines duckdb --orders 994410
    python -m benchmarks.gold_benchmark --engines spark --conf spark.driver.memory=2g
    python -m benchmarks.gold_benchmark --silver /tmp/lake/silver   # reuse a built silver

Generates the synthetic Olist set (real proportions), lands it in bronze with the bundled IPCA
and weather snapshots, builds silver with Cofre's own stage, then, for each engine, times: the
engine's start (DuckDB's connection; the SparkSession and its JVM), a first (cold) gold run, a
second (warm) run, and the gold gate, with CPU seconds beside wall seconds (this process, plus
the driver JVM for Spark, from /proc). Checks that both engines wrote the same bytes. Prints a
Markdown table (docs/gold.md quotes one). `--jvm-threads` adds where the driver JVM's CPU went
in each Spark step, by thread. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import tempfile
import time
from pathlib import Path

from benchmarks.measure import timed
from validation.catalog import Layer

# JVM thread names (as /proc shows them, 15 characters) -> what they do
THREAD_GROUPS = (
    ("JIT compilers", ("C1 CompilerThre", "C2 CompilerThre")),
    ("garbage collection", ("GC Thread", "G1 ", "VM Thread", "VM Periodic")),
    ("Spark task threads", ("Executor task l",)),
)
TICKS = os.sysconf("SC_CLK_TCK")


def jvm_pid(spark) -> int:
    """The driver JVM's pid (pyspark's launcher execs java in the process it starts)."""
    return spark.sparkContext._gateway.proc.pid


def _cpu(stat_path: Path) -> float:
    fields = stat_path.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def jvm_thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of the JVM so far, by thread group; 'other' includes exited threads."""
    proc = Path(f"/proc/{pid}")
    groups = {name: 0.0 for name, _ in THREAD_GROUPS}
    for task in (proc / "task").iterdir():
        try:
            comm, seconds = (task / "comm").read_text().strip(), _cpu(task / "stat")
        except OSError:  # the thread exited meanwhile
            continue
        for name, prefixes in THREAD_GROUPS:
            if comm.startswith(prefixes):
                groups[name] += seconds
    total = _cpu(proc / "stat")
    return {**groups, "other (driver, scheduler, exited threads)": total - sum(groups.values()),
            "JVM total": total}  # fmt: skip


def thread_table(snapshots: list[tuple[str, dict[str, float]]]) -> list[str]:
    """Per-step deltas of `jvm_thread_cpu` snapshots, as Markdown."""
    steps = [label for label, _ in snapshots[1:]]
    lines = ["| JVM CPU seconds | " + " | ".join(steps) + " |", "|---|" + "---:|" * len(steps)]
    for group in snapshots[0][1]:
        pairs = itertools.pairwise(values for _, values in snapshots)
        deltas = [after[group] - before[group] for before, after in pairs]
        lines.append(f"| {group} | " + " | ".join(f"{d:.1f}" for d in deltas) + " |")
    return lines


def build_silver(workdir: Path, orders: int, seed: int):
    """A local lake with silver built from a synthetic Olist set of `orders` orders."""
    from benchmarks.silver_benchmark import land
    from blocks.lake import Lake
    from blocks.settings import load_settings
    from tasks.silver.run import run_silver

    land(workdir, orders, seed)  # synthetic Olist and the snapshots in bronze
    lake = Lake.from_url(str(workdir / "lake"))
    run_silver(lake, load_settings(home=workdir), "bench")
    return lake


def _cpu_now(jvm: int | None) -> float:
    """CPU seconds of this process (all threads: DuckDB's too), plus the driver JVM's."""
    own = time.process_time()
    return own + (_cpu(Path(f"/proc/{jvm}/stat")) if jvm else 0.0)


def run_engine(
    engine_name: str,
    lake,
    master: str | None,
    conf: dict[str, str],
    gold: Path,
    warm: bool = False,
    threads: list | None = None,
) -> tuple[list, dict[str, int]]:
    """(rows of the timing table, rows per gold table) for one engine."""
    from spark.engine import DuckDBEngine
    from spark.gold_job import run_gold

    steps: list = []
    jvm: int | None = None

    def step(label: str, action, note: str = ""):
        wall, cpu = time.perf_counter(), _cpu_now(jvm)
        result = action()
        steps.append((f"{engine_name}: {label}", time.perf_counter() - wall,
                      _cpu_now(jvm) - cpu, note))  # fmt: skip
        if threads is not None and jvm:
            threads.append((label, jvm_thread_cpu(jvm)))
        return result

    if engine_name == "spark":
        from spark.session import build_session, warm_up
        from spark.spark_engine import SparkEngine

        spark = step("SparkSession start-up", lambda: build_session(master, conf=conf),
                     master or "local[*]")  # fmt: skip
        jvm = jvm_pid(spark)
        if threads is not None:
            threads.append(("start", {k: 0.0 for k in jvm_thread_cpu(jvm)}))
        if warm:
            step("warm-up query (overlapped in the pipeline)", lambda: warm_up(spark))
        make = lambda: SparkEngine(spark)  # noqa: E731
    else:
        make = DuckDBEngine

    def once(target: str) -> dict[str, int]:
        job = make()
        try:
            return run_gold(job, lake.url(Layer.SILVER), target)
        finally:
            job.close()

    rows = step("gold job, first run", lambda: once(f"{gold}/{engine_name}-1"))
    step("gold job, second run", lambda: once(f"{gold}/{engine_name}-2"),
         f"fact_sales {rows['fact_sales']:,}")  # fmt: skip
    if engine_name == "spark":
        spark.stop()
    return steps, rows


def run(
    orders: int,
    seed: int,
    engines: list[str],
    master: str | None,
    conf: dict[str, str],
    workdir: Path,
    silver_url: str | None = None,
    warm: bool = False,
    threads: list | None = None,
) -> tuple[list, dict[str, int]]:
    os.environ["COFRE_HOME"] = str(workdir)  # keyring and audit of the silver build
    from blocks.lake import Lake
    from tasks.layers.silver import read_silver
    from tests.spark.gold_reader import read_gold_table
    from validation.catalog import GOLD_TABLES, RECONCILED_INPUTS
    from validation.gold import gold_gate

    if silver_url:  # reuse a silver layer (the gate reads it with polars from its lake)
        lake, silver_seconds = Lake.from_url(silver_url.rstrip("/").removesuffix("/silver")), 0.0
    else:
        lake, silver_seconds = timed(lambda: build_silver(workdir, orders, seed))
    timings = [("silver build (polars)", silver_seconds, float("nan"), "")]
    gold, rows = workdir / "gold", {}
    for engine_name in engines:
        steps, rows = run_engine(engine_name, lake, master, conf, gold, warm, threads)
        timings += steps
    silver = {name: read_silver(lake, name) for name in RECONCILED_INPUTS}
    first = f"{gold}/{engines[0]}-2"

    def gate() -> None:
        gold_gate(silver, {t: read_gold_table(f"{first}/{t}") for t in GOLD_TABLES})

    _, gate_seconds = timed(gate)
    timings.append(("gold gate (polars: schemas + reconciliation)", gate_seconds,
                    float("nan"), ""))  # fmt: skip
    if len(engines) == 2:
        same = all(
            (gold / f"{engines[0]}-2" / t / "part-00000.parquet").read_bytes()
            == (gold / f"{engines[1]}-2" / t / "part-00000.parquet").read_bytes()
            for t in GOLD_TABLES
        )
        timings.append(("both engines wrote the same bytes", float("nan"), float("nan"),
                        "yes" if same else "NO"))  # fmt: skip
    return timings, rows


def _figure(value: float) -> str:
    return "" if value != value else f"{value:.1f}"  # NaN: not measured


def markdown(orders: int, engines: list[str], conf: dict[str, str], timings, rows) -> str:
    lines = [
        f"Gold benchmark: {orders:,} synthetic orders, engines {', '.join(engines)}, "
        f"{os.cpu_count()} CPU(s), Python {platform.python_version()}"
        + (f", conf {conf}" if conf else ""),
        "",
        "| step | wall s | CPU s | notes |",
        "|---|---:|---:|---|",
        *[
            f"| {step} | {_figure(wall)} | {_figure(cpu)} | {note} |"
            for step, wall, cpu, note in timings
        ],
        "",
        "| gold table | rows |",
        "|---|---:|",
        *[f"| {table} | {count:,} |" for table, count in rows.items()],
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.gold_benchmark", description=__doc__
    )
    parser.add_argument("--orders", type=int, default=99_441, help="synthetic orders (real size)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--engines", nargs="+", choices=["duckdb", "spark"], default=["duckdb", "spark"]
    )
    parser.add_argument("--master", help="Spark master (default local[*])")
    parser.add_argument("--conf", action="append", default=[], help="KEY=VALUE Spark setting")
    parser.add_argument("--workdir", type=Path, help="keep the data here (default: a temp dir)")
    parser.add_argument(
        "--silver", help="time gold on this existing <lake>/silver instead of building one"
    )
    parser.add_argument(
        "--warm-up", action="store_true", help="run Spark's warm-up query before gold"
    )
    parser.add_argument(
        "--jvm-threads", action="store_true", help="the driver JVM's CPU per step, by thread"
    )
    args = parser.parse_args(argv)
    conf = dict(item.split("=", 1) for item in args.conf)
    with tempfile.TemporaryDirectory(prefix="cofre-gold-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        threads: list | None = [] if args.jvm_threads else None
        timings, rows = run(
            args.orders, args.seed, args.engines, args.master, conf, workdir, args.silver,
            args.warm_up, threads,
        )  # fmt: skip
    print(markdown(args.orders, args.engines, conf, timings, rows))
    if threads:  # the first snapshot is the JVM's start-up: a delta from zero
        zero = {group: 0.0 for group in threads[0][1]}
        print("\n" + "\n".join(thread_table([("start", zero), *threads])))


if __name__ == "__main__":
    main()
