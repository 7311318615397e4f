"""Gold at real size: Spark session start-up and the gold job's compute, timed separately.

    python -m benchmarks.gold_benchmark                      # 99,441 orders, local[*]
    python -m benchmarks.gold_benchmark --orders 20000 --conf spark.driver.memory=2g
    python -m benchmarks.gold_benchmark --silver /tmp/lake/silver   # reuse a built silver

Generates the synthetic Olist set (real proportions), lands it in bronze with the bundled IPCA
and weather snapshots, builds silver with Cofre's own stage, then times: the SparkSession
start, a first (cold) gold run, a second (warm) run in the same session, and the gold gate.
Prints a Markdown table (docs/gold.md quotes one). `--jvm-threads` adds where the driver
JVM's CPU went in each step, by thread (JIT compilers, garbage collection, Spark's task
threads, the rest), from /proc. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import tempfile
from pathlib import Path

from benchmarks.measure import timed

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


def run(
    orders: int,
    seed: int,
    master: str,
    conf: dict[str, str],
    workdir: Path,
    silver_url: str | None = None,
    warm: bool = False,
    threads: list | None = None,
) -> list:
    os.environ["COFRE_HOME"] = str(workdir)  # keyring and audit of the silver build
    from blocks.lake import Lake
    from spark.gold_job import run_gold
    from spark.session import build_session, warm_up
    from tasks.silver.olist import read_silver
    from validation.catalog import GOLD_TABLES, RECONCILED_INPUTS
    from validation.gold import gold_gate
    from validation.gold_reader import read_gold_table

    if silver_url:  # reuse a silver layer (the gate reads it with polars from its lake)
        lake, silver_seconds = Lake.from_url(silver_url.rstrip("/").removesuffix("/silver")), 0.0
    else:
        lake, silver_seconds = timed(lambda: build_silver(workdir, orders, seed))
    spark, session_seconds = timed(lambda: build_session(master, conf=conf))

    def snapshot(label: str) -> None:
        if threads is not None:
            threads.append((label, jvm_thread_cpu(jvm_pid(spark))))

    snapshot("session start-up")
    # The pipeline starts the session and its warm-up query while silver runs (--warm-up).
    _, warm_up_seconds = timed(lambda: warm_up(spark)) if warm else (None, 0.0)
    if warm:
        snapshot("warm-up query")
    gold = workdir / "gold"
    rows, cold_seconds = timed(lambda: run_gold(spark, lake.url("silver"), f"{gold}/1"))
    snapshot("gold, cold")
    _, warm_seconds = timed(lambda: run_gold(spark, lake.url("silver"), f"{gold}/2"))
    snapshot("gold, warm")
    silver = {name: read_silver(lake, name) for name in RECONCILED_INPUTS}

    def gate() -> None:
        tables = {t: read_gold_table(f"{gold}/2/{t}") for t in GOLD_TABLES}
        gold_gate(silver, tables)

    _, gate_seconds = timed(gate)
    spark.stop()
    return [
        ("silver build (polars, not Spark)", silver_seconds, ""),
        ("Spark session start-up", session_seconds, master),
        (
            "Spark warm-up query (overlapped in the pipeline)",
            warm_up_seconds,
            "" if warm else "off",
        ),
        ("gold job, first run (cold JVM)", cold_seconds, f"{sum(rows.values()):,} rows"),
        ("gold job, second run (warm)", warm_seconds, f"fact_sales {rows['fact_sales']:,}"),
        ("gold gate (polars: schemas + reconciliation)", gate_seconds, ""),
    ], rows


def markdown(orders: int, master: str, conf: dict[str, str], timings, rows) -> str:
    lines = [
        f"Gold benchmark: {orders:,} synthetic orders, master {master}, "
        f"{os.cpu_count()} CPU(s), Python {platform.python_version()}"
        + (f", conf {conf}" if conf else ""),
        "",
        "| step | seconds | notes |",
        "|---|---:|---|",
        *[f"| {step} | {seconds:.1f} | {note} |" for step, seconds, note in timings],
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
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--conf", action="append", default=[], help="KEY=VALUE Spark setting")
    parser.add_argument("--workdir", type=Path, help="keep the data here (default: a temp dir)")
    parser.add_argument(
        "--silver", help="time gold on this existing <lake>/silver instead of building one"
    )
    parser.add_argument(
        "--warm-up", action="store_true", help="run the pipeline's warm-up query before gold"
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
            args.orders, args.seed, args.master, conf, workdir, args.silver, args.warm_up, threads
        )
    print(markdown(args.orders, args.master, conf, timings, rows))
    if threads:  # the first snapshot is the JVM's start-up: a delta from zero
        zero = {group: 0.0 for group in threads[0][1]}
        print("\n" + "\n".join(thread_table([("start", zero), *threads])))


if __name__ == "__main__":
    main()
