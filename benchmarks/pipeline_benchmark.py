"""Cofre end to end at 1x and 10x, side by side with the seed's way, on the same data.

    python -m benchmarks.pipeline_benchmark                        # 1x and 10x, 3 runs each
    python -m benchmarks.pipeline_benchmark --scales 1 --repeats 3 --modes plain temporary server

For each scale: generate the synthetic Olist set once (1x = 99,441 orders; 10x = 994,410,
geolocation stays the 1x reference table), then, `--repeats` times each, in a fresh COFRE_HOME:

- `server` (always): `python -m flows.full_pipeline --olist-dir DIR --sources snapshot`
  against a running `prefect server` started here;
- `temporary` (optional): the same command with no server configured, so Prefect starts its
  temporary API in the process (what `./dev run` does);
- `plain` (optional): the same functions without Prefect (`benchmarks.plain_pipeline`), which
  separates data work from orchestration;
- `postgres` (optional): `server` with the warehouse in a throwaway PostgreSQL started here
  (from the installed binaries, see tests/services.py) instead of the embedded SQLite;
- the seed's way (`benchmarks.seed_baseline`): pandas, payments x items joins, row-wise
  sha256 masking, `to_sql`; plus the masking step alone, the seed's versus Cofre's.

Wall time and peak RSS are measured from outside (the RSS of the whole process tree, Spark's
JVM included); per-stage time, rows and Spark start-up come from the run summary. Prints
Markdown (medians), then the targets table (each figure against its target, met or missed),
and writes JSON to benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL_ORDERS = 99_441
STAGES = ("ingestion", "silver", "gold", "warehouse")


def _dataset(scale: int, cache: Path, base_orders: int = REAL_ORDERS) -> Path:
    from tasks.sources.olist.synthetic import generate_olist

    directory = cache / f"olist-{base_orders * scale}"
    if not (directory / "_COMPLETE").exists():
        generate_olist(directory, orders=base_orders * scale, seed=42)
        (directory / "_COMPLETE").write_text("ok")
    return directory


def _env(work: Path, **extra: str) -> tuple[dict, Path]:
    home = work / f"home-{time.time_ns()}"
    env = {**os.environ, "COFRE_HOME": str(home), "DO_NOT_TRACK": "1", **extra}
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    return env, home


def _check(measured, what: str) -> None:
    if measured.result.returncode != 0:
        tail = (measured.result.stdout + measured.result.stderr)[-3000:]
        raise RuntimeError(f"{what} failed:\n{tail}")


def cofre_run(
    directory: Path, work: Path, server_url: str | None, postgres: dict[str, str] | None = None
) -> dict:
    """One `flows.full_pipeline` run; `server_url` None = Prefect's temporary API;
    `postgres`: extra environment pointing the warehouse at a PostgreSQL."""
    from benchmarks.measure import run_measured

    env, home = _env(work, **(postgres or {}))
    env.pop("PREFECT_API_URL", None)
    if server_url:
        env["PREFECT_API_URL"] = server_url
    else:
        env["PREFECT_HOME"] = str(work / "prefect-temporary")  # shared: migrated once
        Path(env["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "flows.full_pipeline", "--olist-dir", str(directory)]
    measured = run_measured([*command, "--sources", "snapshot"], env, ROOT)
    _check(measured, "full_pipeline")
    (summary_path,) = (home / "lake" / "gold" / "_runs").glob("*.json")
    summary = json.loads(summary_path.read_text())
    return {
        "wall": measured.wall,
        "peak_rss_mib": measured.peak_rss_mib,
        "spark_startup": summary.get("spark_startup_seconds", 0.0),
        "stages": {s["stage"]: s for s in summary["stages"]},
    }


def plain_run(directory: Path, work: Path) -> dict:
    from benchmarks.measure import run_measured

    env, _ = _env(work)
    command = [sys.executable, "-m", "benchmarks.plain_pipeline", "--olist-dir", str(directory)]
    measured = run_measured(command, env, ROOT)
    _check(measured, "plain pipeline")
    seconds = json.loads(measured.result.stdout.strip().splitlines()[-1])
    return {
        "wall": measured.wall,
        "peak_rss_mib": measured.peak_rss_mib,
        "spark_startup": seconds["spark_startup"],
        "stages": {name: {"seconds": seconds[name]} for name in STAGES},
    }


def baseline_run(directory: Path, work: Path) -> dict:
    """The seed's way, in its own process so its memory is its own."""
    from benchmarks.measure import run_measured

    command = [sys.executable, "-m", "benchmarks.seed_baseline", str(directory)]
    measured = run_measured([*command, str(work / f"seed-{time.time_ns()}.db")], os.environ, ROOT)
    _check(measured, "seed baseline")
    out = json.loads(measured.result.stdout.strip().splitlines()[-1])
    out.update(wall=measured.wall, peak_rss_mib=measured.peak_rss_mib)
    return out


def masking_run(directory: Path) -> dict[str, float]:
    """Masking the customers file: the seed's row-wise sha256 `apply` against Cofre's
    masking with the `seed` preset (the same policy: city replaced, state hashed), and,
    for context, Cofre's `default` preset (pseudonymised ids, generalised zip as well)."""
    import pandas as pd
    import polars as pl

    from benchmarks.seed_baseline import mask_seed_way
    from tasks.silver.masking import apply_masking, get_policy

    path = directory / "olist_customers_dataset.csv"
    pandas_frame = pd.read_csv(path)
    started = time.perf_counter()
    mask_seed_way(pandas_frame)
    seconds = {"seed": time.perf_counter() - started, "rows": len(pandas_frame)}
    frame = pl.read_csv(path, infer_schema=False)
    for preset in ("seed", "default"):
        started = time.perf_counter()
        apply_masking(frame, "customers", get_policy(preset), b"k" * 32)
        seconds[f"cofre_{preset}"] = time.perf_counter() - started
    return seconds


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
    parser.add_argument(
        "--modes",
        nargs="+",
        default=["server"],
        choices=["server", "temporary", "plain", "postgres"],
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the seed's way")
    parser.add_argument(
        "--orders", type=int, default=REAL_ORDERS, help="orders at 1x (smaller: a quick check)"
    )
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "cofre-bench")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from tests.services import start_prefect_server, stop_process_group

    args.cache.mkdir(parents=True, exist_ok=True)
    server = start_prefect_server(args.cache / f"prefect-{time.time_ns()}")
    results: dict = {"machine": _machine(), "command": " ".join(sys.argv), "scales": {}}
    postgres, postgres_env = None, None
    try:
        if "postgres" in args.modes:
            from tests.services import start_postgres

            postgres = start_postgres()
            database = postgres.create_database("bench")
            postgres_env = {  # libpq reads the password from the environment, never the URL
                "PGPASSWORD": postgres.password,
                "COFRE_WAREHOUSE_URL": postgres.url(database, with_password=False),
            }
        for scale in args.scales:
            directory = _dataset(scale, args.cache, args.orders)
            runs: dict[str, list[dict]] = {mode: [] for mode in args.modes}
            for _ in range(args.repeats):  # interleaved, so load drift hits every mode alike
                for mode in args.modes:
                    if mode == "plain":
                        runs[mode].append(plain_run(directory, args.cache))
                    elif mode == "postgres":
                        runs[mode].append(
                            cofre_run(directory, args.cache, server.url, postgres_env)
                        )
                    else:
                        url = server.url if mode == "server" else None
                        runs[mode].append(cofre_run(directory, args.cache, url))
            baselines = [] if args.no_baseline else [
                baseline_run(directory, args.cache) for _ in range(args.repeats)
            ]  # fmt: skip
            masking = [masking_run(directory) for _ in range(args.repeats)]
            results["scales"][f"{scale}x"] = summarise(
                runs, baselines, masking, source_totals(directory)
            )
    finally:
        stop_process_group(server.process)
        if postgres:
            from tests.services import stop_postgres

            stop_postgres(postgres)
    out_dir = ROOT / "benchmarks" / "results"
    out_dir.mkdir(exist_ok=True)
    path = out_dir / f"pipeline-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2))
    print(to_markdown(results))
    print("\n".join(["", "### Targets", "", *targets(results)]))
    print(f"\nJSON: {path}")


def _machine() -> str:
    import platform

    return (
        f"{os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def _median(values) -> float:
    return round(statistics.median(values), 2)


def summarise(runs: dict, baselines: list[dict], masking: list[dict], truth: dict) -> dict:
    modes = {}
    for mode, mode_runs in runs.items():
        stages = {}
        for name in STAGES:
            seconds = _median(r["stages"][name]["seconds"] for r in mode_runs)
            rows = mode_runs[0]["stages"][name].get("rows_out")
            stages[name] = {
                "seconds": seconds,
                "rows_out": rows,
                "rows_per_second": round(rows / seconds) if rows and seconds else None,
                "peak_rss_mib": max(r["stages"][name].get("peak_rss_mib", 0) for r in mode_runs),
            }
        modes[mode] = {
            "wall_median": _median(r["wall"] for r in mode_runs),
            "walls": [round(r["wall"], 2) for r in mode_runs],
            "peak_rss_mib": max(r["peak_rss_mib"] for r in mode_runs),
            "spark_startup_median": _median(r["spark_startup"] for r in mode_runs),
            "stages": stages,
        }
    out: dict = {"cofre": modes, "source_totals": truth}
    if baselines:
        steps = baselines[0]["timings"]
        out["seed_baseline"] = {
            "wall_median": _median(b["wall"] for b in baselines),
            "peak_rss_mib": max(b["peak_rss_mib"] for b in baselines),
            "stages": {k: _median(b["timings"][k] for b in baselines) for k in steps},
            "inflated_totals": baselines[0]["totals"],
        }
    out["masking_customers"] = {
        "rows": masking[0]["rows"],
        "seed_seconds": round(statistics.median(m["seed"] for m in masking), 4),
        "cofre_seconds": round(statistics.median(m["cofre_seed"] for m in masking), 4),
        "cofre_default_policy_seconds": round(
            statistics.median(m["cofre_default"] for m in masking), 4
        ),
    }
    return out


def breakdown(modes: dict) -> list[str]:
    """Where the wall time goes: data work (from the Prefect-free run), Spark start-up, and
    the rest (imports, Prefect's API, flow/task-run bookkeeping, artifacts)."""
    if "plain" not in modes:
        return []
    plain = modes["plain"]
    work = sum(s["seconds"] for s in plain["stages"].values()) - plain["spark_startup_median"]
    lines = [
        "| mode | wall (s) | data work (s) | Spark start-up (s) | orchestration + start-up (s) |",
        "|---|---:|---:|---:|---:|",
    ]
    for mode, m in modes.items():
        rest = m["wall_median"] - work - m["spark_startup_median"]
        cells = [mode, m["wall_median"], round(work, 1), m["spark_startup_median"], round(rest, 1)]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return ["", *lines]


def to_markdown(results: dict) -> str:
    lines = [f"Machine: {results['machine']}", ""]
    for scale, result in results["scales"].items():
        lines += [f"### {scale}", ""]
        for mode, m in result["cofre"].items():
            lines += [
                f"**{mode}**: wall {m['wall_median']} s (median of {m['walls']}), peak RSS "
                f"{m['peak_rss_mib']} MiB, Spark start-up {m['spark_startup_median']} s",
                "",
                "| stage | seconds | rows out | rows/s | peak RSS (MiB) |",
                "|---|---:|---:|---:|---:|",
            ]
            for name, s in m["stages"].items():
                rate = f"{s['rows_per_second']:,}" if s["rows_per_second"] else "—"
                rows = f"{s['rows_out']:,}" if s["rows_out"] is not None else "—"
                cells = [name, s["seconds"], rows, rate, s["peak_rss_mib"] or "—"]
                lines.append("| " + " | ".join(str(c) for c in cells) + " |")
            lines.append("")
        lines += breakdown(result["cofre"])
        masking = result["masking_customers"]
        lines += [
            "",
            f"Masking the customers file ({masking['rows']:,} rows), the seed's policy: seed "
            f"{masking['seed_seconds']} s, Cofre {masking['cofre_seconds']} s "
            f"({masking['seed_seconds'] / masking['cofre_seconds']:.1f}x); Cofre's default "
            f"policy (ids pseudonymised too): {masking['cofre_default_policy_seconds']} s.",
        ]
        seed = result.get("seed_baseline")
        if seed:
            reference = result["cofre"].get("server") or next(iter(result["cofre"].values()))
            lines += [
                f"Seed's way: {seed['wall_median']} s, peak RSS {seed['peak_rss_mib']} MiB, "
                f"stages {seed['stages']}; seed wall / Cofre wall = "
                f"{seed['wall_median'] / reference['wall_median']:.2f} (above 1: Cofre faster).",
                f"Seed's totals (fan-out): {seed['inflated_totals']}.",
            ]
        lines += [f"Source truth: {result['source_totals']}.", ""]
    return "\n".join(lines)


# (label, scale, what to read, target, "max" = at most / "min" = at least)
TARGETS = (
    ("1x end to end against a running Prefect server (s)", "1x", ("server", "wall"), 30.0, "max"),
    ("1x `./dev run` (temporary Prefect API) (s)", "1x", ("temporary", "wall"), 45.0, "max"),
    ("gold stage, 1x (s)", "1x", ("server", "gold"), 10.0, "max"),
    ("gold stage, 10x (s)", "10x", ("server", "gold"), 30.0, "max"),
    ("silver, 1x (s)", "1x", ("server", "silver"), 3.0, "max"),
    ("silver, 10x (s)", "10x", ("server", "silver"), 12.0, "max"),
    ("warehouse at 10x, SQLite (s)", "10x", ("server", "warehouse"), 15.0, "max"),
    ("warehouse at 10x, PostgreSQL (s)", "10x", ("postgres", "warehouse"), None, "max"),
    ("10x: seed's wall / Cofre's wall (above 1: Cofre faster)", "10x", ("seed", "ratio"), 1.0,
     "min"),
    ("peak RSS of the process tree at 10x (MiB)", "10x", ("server", "rss"), 4096.0, "max"),
)  # fmt: skip


def _figure(result: dict, mode: str, what: str) -> float | None:
    cofre = result["cofre"]
    if mode == "seed":
        seed, server = result.get("seed_baseline"), cofre.get("server")
        return seed["wall_median"] / server["wall_median"] if seed and server else None
    if mode not in cofre:
        return None
    if what == "wall":
        return cofre[mode]["wall_median"]
    if what == "rss":
        return cofre[mode]["peak_rss_mib"]
    return cofre[mode]["stages"][what]["seconds"]


def targets(results: dict) -> list[str]:
    """The issue's table: every measured figure beside its target, and whether it is met."""
    lines = ["| measure | measured | target | verdict |", "|---|---:|---:|---|"]
    for label, scale, (mode, what), target, sense in TARGETS:
        result = results["scales"].get(scale)
        figure = _figure(result, mode, what) if result else None
        if figure is None:
            cells = [label, "not measured", _target(target, sense), "—"]
        elif target is None:
            cells = [label, f"{figure:,.2f}", "recorded", "recorded"]
        else:
            met = figure <= target if sense == "max" else figure >= target
            cells = [label, f"{figure:,.2f}", _target(target, sense), "met" if met else "missed"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _target(target: float | None, sense: str) -> str:
    if target is None:
        return "recorded"
    return f"{'≤' if sense == 'max' else '≥'} {target:,.1f}"


if __name__ == "__main__":
    main()
