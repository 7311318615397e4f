"""The benchmark scripts' own logic: measuring a process tree and summarising runs.

The full benchmark takes many minutes and its figures live in docs/performance.md; here we
check that what it reports is computed right, so a published figure can be trusted.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from benchmarks.measure import run_measured
from benchmarks.pipeline_benchmark import breakdown, summarise, targets, to_markdown

ROOT = Path(__file__).resolve().parents[1]

CHILD = "import time; block = bytearray(150 * 2**20); time.sleep(1.0)"
PARENT = (
    "import subprocess, sys, time; block = bytearray(100 * 2**20); "
    f"subprocess.run([sys.executable, '-c', {CHILD!r}]); print('done')"
)


def test_peak_rss_counts_the_whole_process_tree():
    measured = run_measured([sys.executable, "-c", PARENT], {}, ROOT)
    assert measured.result.returncode == 0 and measured.result.stdout.strip() == "done"
    assert measured.wall >= 1.0
    # parent (100 MiB) and child (150 MiB) alive together: more than either alone
    assert 250 <= measured.peak_rss_mib < 600, measured.peak_rss_mib


BUSY = "import time; end = time.process_time() + 0.6\nwhile time.process_time() < end: pass"
BUSY_PARENT = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {BUSY!r}])\n{BUSY}"


def test_cpu_seconds_count_the_command_and_its_children():
    measured = run_measured([sys.executable, "-c", BUSY_PARENT], {}, ROOT)
    assert measured.result.returncode == 0, measured.result.stderr
    assert 1.2 <= measured.cpu < 1.2 + 2.0, measured.cpu  # 0.6 s each, plus two interpreters


def _run(wall: float, gold: float, spark: float) -> dict:
    stages = {
        "ingestion": {"seconds": 2.0, "rows_out": 1000, "peak_rss_mib": 300.0},
        "silver": {"seconds": 5.0, "rows_out": 500, "peak_rss_mib": 900.0},
        "gold": {"seconds": gold, "rows_out": 200, "peak_rss_mib": 950.0},
        "warehouse": {"seconds": 3.0, "rows_out": 200, "peak_rss_mib": 990.0},
    }
    return {"wall": wall, "cpu": wall * 1.5, "peak_rss_mib": 2000.0, "spark_startup": spark,
            "stages": stages}  # fmt: skip


def test_summary_takes_medians_and_splits_the_wall_time():
    runs = {
        "server": [_run(40.0, 20.0, 8.0), _run(44.0, 24.0, 9.0), _run(90.0, 70.0, 30.0)],
        "plain": [_run(33.0, 18.0, 8.0), _run(35.0, 20.0, 8.0), _run(34.0, 19.0, 8.0)],
    }
    baselines = [
        {"wall": w, "cpu": w, "peak_rss_mib": 3000.0, "timings": {"read": 4.0, "warehouse": w - 4},
         "totals": {"payment_value": 2.0}}
        for w in (80.0, 88.0, 84.0)
    ]  # fmt: skip
    masking = [{"seed": 1.0, "cofre_seed": 0.1, "cofre_default": 0.5, "rows": 99441}] * 3
    result = summarise(runs, baselines, masking, {"payment_value": 1.0})
    server = result["cofre"]["server"]
    assert server["wall_median"] == 44.0 and server["spark_startup_median"] == 9.0
    assert server["cpu_median"] == 66.0
    assert server["stages"]["gold"]["seconds"] == 24.0
    assert server["stages"]["ingestion"]["rows_per_second"] == 500
    assert result["seed_baseline"]["wall_median"] == 84.0
    # data work = plain stages (2 + 5 + 19 + 3) - plain Spark start-up (8) = 21 s;
    # server: 44 - 21 - 9 = 14 s of orchestration and process start-up
    rows = breakdown(result["cofre"])
    assert "| server | 44.0 | 21.0 | 9.0 | 14.0 |" in rows
    text = to_markdown({"machine": "test", "scales": {"1x": result}})
    assert "seed wall / Cofre wall = 1.91" in text  # 84 / 44
    assert "wall 44.0 s (median of [40.0, 44.0, 90.0]), CPU 66.0 s" in text
    assert "(10.0x)" in text  # masking 1.0 s / 0.1 s


def test_targets_table_compares_each_figure_with_its_target():
    """The issue's targets table: a figure under its ceiling is met, over it missed, a
    ratio under its floor missed, and what was not run says so instead of passing."""
    masking = [{"seed": 1.0, "cofre_seed": 0.1, "cofre_default": 0.5, "rows": 10}]
    seed = [
        {"wall": 60.0, "cpu": 60.0, "peak_rss_mib": 1.0, "timings": {"read": 1.0}, "totals": {}}
    ]
    one = summarise({"server": [_run(18.0, 2.5, 0.0)]}, [], masking, {})
    ten = summarise(
        {"server": [_run(80.0, 25.0, 4.0)], "postgres": [_run(90.0, 25.0, 4.0)],
         "spark": [_run(200.0, 150.0, 9.0), {"failed": "OutOfMemoryError"}]},
        seed, masking, {},
    )  # fmt: skip
    lines = targets({"scales": {"1x": one, "10x": ten}})
    table = "\n".join(lines)
    assert "| 1x end to end against a running Prefect server (s) | 18.00 | ≤ 20.0 | met |" in table
    assert "| gold, default engine, 1x (s) | 2.50 | ≤ 3.0 | met |" in table
    assert "| gold, default engine, 10x (s) | 25.00 | ≤ 12.0 | missed |" in table
    assert "| `./dev run`, second run on the same home (s) | not measured |" in table.replace(
        "1x ", ""
    )
    assert "| warehouse at 10x, PostgreSQL (s) | 3.00 | recorded | recorded |" in table
    # one Spark run of two failed: the target (every run completes) is missed
    assert "| 1 of 2 | all, identical tables | missed |" in table
    # seed 60 s / Cofre 80 s = 0.75: Cofre slower, so the ratio target (>= 1.5) is missed
    assert "| 0.75 | ≥ 1.5 | missed |" in table
    assert "| peak RSS of the process tree at 10x (MiB) | 2,000.00 | ≤ 3,072.0 | met |" in table


def test_targets_table_puts_the_earlier_revision_beside_each_figure():
    masking = [{"seed": 1.0, "cofre_seed": 0.1, "cofre_default": 0.5, "rows": 10}]
    after = summarise({"server": [_run(18.0, 2.5, 0.0)]}, [], masking, {})
    before = summarise({"server": [_run(50.0, 26.9, 7.0)]}, [], masking, {})
    results = {"scales": {"1x": after}, "before": {"ref": "502de68", "scales": {"1x": before}}}
    table = "\n".join(targets(results))
    assert table.startswith("| measure | before | measured | target | verdict |")
    assert "| gold, default engine, 1x (s) | 26.90 | 2.50 | ≤ 3.0 | met |" in table


def test_warehouse_benchmark_runs_end_to_end(tmp_path, monkeypatch, capsys):
    """The published COPY-vs-to_sql figures come from this script: run it on a tiny gold
    (its own throwaway PostgreSQL) and check every method loaded and was reported."""
    from benchmarks import warehouse_benchmark
    from tests.tasks.warehouse.gold_frames import gold_frames

    for name, frame in gold_frames().items():
        (tmp_path / name).mkdir()
        frame.write_parquet(tmp_path / name / "part-0.parquet")
    monkeypatch.setenv("PGPASSWORD", "")  # the script sets it; restored after the test
    warehouse_benchmark.main(["--gold", str(tmp_path), "--repeats", "1"])
    report = capsys.readouterr().out
    assert "fact_sales, 3 rows, median of 1" in report
    for label in ("Cofre: COPY bulk replace", "seed: TRUNCATE + `to_sql`", "without keys"):
        assert label in report
    assert re.search(r"\| postgresql \| \d+\.\d\d \|", report)
    assert re.search(r"\| sqlite \| \d+\.\d\d \|", report)


def test_jvm_thread_profile_reads_proc_and_reports_per_step_deltas():
    """The gold benchmark's thread profile: /proc CPU by thread group for a live process
    (this one stands in for the JVM), and each step's figure is the change since the last."""
    from benchmarks.gold_benchmark import jvm_thread_cpu, thread_table

    sum(i * i for i in range(2_000_000))  # some CPU in this process's main thread
    cpu = jvm_thread_cpu(os.getpid())
    assert cpu["JVM total"] > 0 and cpu["JIT compilers"] == 0.0
    assert abs(sum(cpu.values()) - 2 * cpu["JVM total"]) < 1e-6  # groups + other = total
    zero = dict.fromkeys(cpu, 0.0)
    later = {**cpu, "JVM total": cpu["JVM total"] + 1.5}
    lines = thread_table([("start", zero), ("cold", cpu), ("warm", later)])
    assert lines[0] == "| JVM CPU seconds | cold | warm |"
    assert lines[-1] == f"| JVM total | {cpu['JVM total']:.1f} | 1.5 |"


def test_a_finished_runs_home_and_database_are_removed(tmp_path):
    """Each benchmark run starts on a disk and page cache without the earlier runs' homes."""
    from benchmarks.pipeline_benchmark import _remove

    home, database = tmp_path / "home-1", tmp_path / "seed-1.db"
    (home / "lake" / "bronze").mkdir(parents=True)
    (home / "lake" / "bronze" / "orders.csv").write_bytes(b"id\n1\n")
    database.write_bytes(b"SQLite format 3\0")
    _remove(home)
    _remove(database)
    _remove(tmp_path / "never-made")
    assert list(tmp_path.iterdir()) == []
