"""Cofre end to end at 1x and 10x, side by side with the seed's way, on the same data.

    python -m benchmarks.pipeline_benchmark                 # 1x and 10x, 3 runs each
    python -m benchmarks.pipeline_benchmark --scales 1 --repeats 1

For each scale: generate the synthetic Olist set (1x = 99,441 orders; 10x = 994,410 orders,
geolocation stays the 1x reference table), start a `prefect server`, run
`python -m flows.full_pipeline --olist-dir DIR --sources snapshot` against it (per-stage time,
rows/s and peak RSS come from the run summary), then the seed's way in a subprocess. Prints a
Markdown table and writes JSON to benchmarks/results/. Medians of `--repeats` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL_ORDERS = 99_441


def _dataset(scale: int, cache: Path) -> Path:
    from tasks.olist_synthetic import generate_olist

    directory = cache / f"olist-{scale}x"
    if not (directory / "_COMPLETE").exists():
        generate_olist(directory, orders=REAL_ORDERS * scale, seed=42)
        (directory / "_COMPLETE").write_text("ok")
    return directory


def _run(command: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    return time.perf_counter() - started, result


def cofre_run(directory: Path, server_url: str, work: Path) -> dict:
    home = work / f"home-{time.time_ns()}"
    env = {
        **os.environ,
        "PREFECT_API_URL": server_url,
        "COFRE_HOME": str(home),
        "DO_NOT_TRACK": "1",
    }
    wall, peak, result = _run(
        [
            sys.executable,
            "-m",
            "flows.full_pipeline",
            "--olist-dir",
            str(directory),
            "--sources",
            "snapshot",
        ],
        env,
    )
    if result.returncode != 0:
        raise RuntimeError(f"full_pipeline failed:\n{result.stdout[-3000:]}")
    (summary_path,) = (home / "lake" / "gold" / "_runs").glob("*.json")
    summary = json.loads(summary_path.read_text())
    return {"wall": wall, "peak_rss_mib": peak, "stages": summary["stages"]}


def baseline_run(directory: Path, work: Path) -> dict:
    """The seed's way, in its own process so its peak RSS is its own."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.seed_baseline", str(directory), str(work / "seed.db")],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    out = json.loads(result.stdout.strip().splitlines()[-1])
    out["wall"] = time.perf_counter() - started
    return out


def source_totals(directory: Path) -> dict[str, float]:
    import polars as pl

    payments = pl.read_csv(directory / "olist_order_payments_dataset.csv")
    items = pl.read_csv(directory / "olist_order_items_dataset.csv")
    return {
        "orders": float(pl.read_csv(directory / "olist_orders_dataset.csv").height),
        "payment_value": round(float(payments["payment_value"].sum()), 2),
        "price": round(float(items["price"].sum()), 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "cofre-bench")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from tests.services import start_prefect_server, stop_process_group

    args.cache.mkdir(parents=True, exist_ok=True)
    server = start_prefect_server(args.cache / f"prefect-{time.time_ns()}")
    results = {}
    try:
        for scale in args.scales:
            directory = _dataset(scale, args.cache)
            runs = [cofre_run(directory, server.url, args.cache) for _ in range(args.repeats)]
            baselines = [baseline_run(directory, args.cache) for _ in range(args.repeats)]
            results[f"{scale}x"] = summarise(runs, baselines, source_totals(directory))
    finally:
        stop_process_group(server.process)
    out_dir = ROOT / "benchmarks" / "results"
    out_dir.mkdir(exist_ok=True)
    path = out_dir / f"pipeline-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2))
    print(to_markdown(results))
    print(f"\nJSON: {path}")


def summarise(runs: list[dict], baselines: list[dict], truth: dict) -> dict:
    stages = {}
    for stage in runs[0]["stages"]:
        name = stage["stage"]
        seconds = statistics.median(
            next(s for s in r["stages"] if s["stage"] == name)["seconds"] for r in runs
        )
        stages[name] = {
            "seconds": round(seconds, 2),
            "rows_out": stage["rows_out"],
            "rows_per_second": round(stage["rows_out"] / seconds) if seconds else None,
            "peak_rss_mib": max(
                next(s for s in r["stages"] if s["stage"] == name)["peak_rss_mib"] for r in runs
            ),
        }
    baseline_stages = {
        key: round(statistics.median(b["timings"][key] for b in baselines), 2)
        for key in baselines[0]["timings"]
    }
    return {
        "cofre": {
            "wall_median": round(statistics.median(r["wall"] for r in runs), 2),
            "peak_rss_mib": round(max(r["peak_rss_mib"] for r in runs), 1),
            "stages": stages,
        },
        "seed_baseline": {
            "wall_median": round(statistics.median(b["wall"] for b in baselines), 2),
            "peak_rss_mib": round(max(b["peak_rss_mib"] for b in baselines), 1),
            "stages": baseline_stages,
            "inflated_totals": baselines[0]["totals"],
        },
        "source_totals": truth,
    }


def to_markdown(results: dict) -> str:
    lines = []
    for scale, result in results.items():
        cofre, seed = result["cofre"], result["seed_baseline"]
        lines += [f"### {scale}", "", "| stage | seconds | rows out | rows/s | peak RSS (MiB) |"]
        lines.append("|---|---:|---:|---:|---:|")
        for name, s in cofre["stages"].items():
            rate = s["rows_per_second"] or "—"
            cells = [name, s["seconds"], f"{s['rows_out']:,}", rate, s["peak_rss_mib"]]
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
        ratio = seed["wall_median"] / cofre["wall_median"]
        lines += [
            "",
            f"Cofre end to end: {cofre['wall_median']} s (median); "
            f"peak RSS {cofre['peak_rss_mib']} MiB.",
            f"Seed's way: {seed['wall_median']} s; peak RSS {seed['peak_rss_mib']} MiB; "
            f"stages {seed['stages']}.",
            f"Ratio (seed / Cofre, wall): {ratio:.2f}x.",
            f"Seed's totals (fan-out): {seed['inflated_totals']}.",
            f"Source truth: {result['source_totals']}.",
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
