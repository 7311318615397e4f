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
- `devrun` (optional): what `./dev run` does twice on one home, Prefect's temporary API kept
  under the Cofre home; the second run is the figure (the first migrates a new database);
- `spark` (optional): `server` with `--engine spark` (Spark `local[*]`): whether every run
  completes, and its gold stage;
- `--before REF` (optional): the same `server` runs of the code at git revision REF (checked
  out in a worktree under the cache), interleaved with this code's, so the targets table shows
  before and after measured back to back;
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
    directory: Path,
    work: Path,
    server_url: str | None,
    extra: dict[str, str] | None = None,
    root: Path = ROOT,
    home: Path | None = None,
    own_prefect_home: bool = False,
) -> dict:
    """One `flows.full_pipeline` run of the code at `root`; `server_url` None = Prefect's
    temporary API (shared and migrated once, or the home's own with `own_prefect_home`, as
    `./dev run`); `extra`: more environment (a PostgreSQL warehouse, the gold engine);
    `home`: a COFRE_HOME to reuse (default: a fresh one)."""
    from benchmarks.measure import run_measured

    env, fresh = _env(work, **(extra or {}))
    home = home or fresh
    env["COFRE_HOME"] = str(home)
    env.pop("PREFECT_API_URL", None)
    env["PYTHONPATH"] = str(root)  # the code under test, not an installed copy
    if server_url:
        env["PREFECT_API_URL"] = server_url
    elif not own_prefect_home:
        env["PREFECT_HOME"] = str(work / "prefect-temporary")  # shared: migrated once
        Path(env["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    else:
        env.pop("PREFECT_HOME", None)  # Cofre keeps it under COFRE_HOME (flows/__init__.py)
    started = time.time()
    command = [sys.executable, "-m", "flows.full_pipeline", "--olist-dir", str(directory)]
    measured = run_measured([*command, "--sources", "snapshot"], env, root)
    _check(measured, "full_pipeline")
    summaries = (home / "lake" / "gold" / "_runs").glob("*.json")
    (summary_path,) = [p for p in summaries if p.stat().st_mtime >= started]
    summary = json.loads(summary_path.read_text())
    if home == fresh:
        _remove(home)
    return {
        "wall": measured.wall,
        "cpu": measured.cpu,
        "peak_rss_mib": measured.peak_rss_mib,
        "spark_startup": summary.get("spark_startup_seconds", 0.0),
        "stages": {s["stage"]: s for s in summary["stages"]},
    }


def devrun_twice(directory: Path, work: Path) -> dict:
    """`./dev run` twice on one new home; the second run's figures (the first also creates
    the home's Prefect database)."""
    home = work / f"home-devrun-{time.time_ns()}"
    cofre_run(directory, work, None, home=home, own_prefect_home=True)
    try:
        return cofre_run(directory, work, None, home=home, own_prefect_home=True)
    finally:
        _remove(home)


def _remove(path: Path) -> None:
    """Remove a finished run's home or database. Each run then starts with the disk and the
    page cache as the last one found them: with the homes of earlier runs kept (about 3 GB
    each at 10x), the later runs of a set measured slower, the warehouse load most (10x: 4.3
    -> 7.7 s over six runs of the same code), whichever code ran."""
    import shutil

    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def tolerant(run, *args, **kwargs) -> dict:
    """A run whose failure is recorded (`{"failed": its output's tail}`), not raised."""
    try:
        return run(*args, **kwargs)
    except RuntimeError as exc:
        return {"failed": str(exc)[-2000:]}


def spark_run(directory: Path, work: Path, server_url: str) -> dict:
    """A `server` run with the Spark engine; a failed run is recorded, not raised."""
    return tolerant(cofre_run, directory, work, server_url, {"COFRE_GOLD_ENGINE": "spark"})


def worktree(ref: str, cache: Path) -> Path:
    """The code at git revision `ref`, checked out (once) under the cache."""
    import subprocess

    sha = subprocess.run(
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    path = cache / f"worktree-{sha[:12]}"
    if not path.exists():
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(path), sha],
            cwd=ROOT, capture_output=True, check=True,
        )  # fmt: skip
    return path


def plain_run(directory: Path, work: Path) -> dict:
    from benchmarks.measure import run_measured

    env, _ = _env(work)
    command = [sys.executable, "-m", "benchmarks.plain_pipeline", "--olist-dir", str(directory)]
    measured = run_measured(command, env, ROOT)
    _check(measured, "plain pipeline")
    seconds = json.loads(measured.result.stdout.strip().splitlines()[-1])
    return {
        "wall": measured.wall,
        "cpu": measured.cpu,
        "peak_rss_mib": measured.peak_rss_mib,
        "spark_startup": seconds["spark_startup"],
        "stages": {name: {"seconds": seconds[name]} for name in STAGES},
    }


def baseline_run(directory: Path, work: Path) -> dict:
    """The seed's way, in its own process so its memory is its own."""
    from benchmarks.measure import run_measured

    command = [sys.executable, "-m", "benchmarks.seed_baseline", str(directory)]
    database = work / f"seed-{time.time_ns()}.db"
    measured = run_measured([*command, str(database)], os.environ, ROOT)
    _remove(database)
    _check(measured, "seed baseline")
    out = json.loads(measured.result.stdout.strip().splitlines()[-1])
    out.update(wall=measured.wall, cpu=measured.cpu, peak_rss_mib=measured.peak_rss_mib)
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
        choices=["server", "temporary", "plain", "postgres", "devrun", "spark"],
    )
    parser.add_argument(
        "--before", metavar="REF", help="also run the code at git revision REF, interleaved"
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
    before_root = worktree(args.before, args.cache) if args.before else None
    if before_root:
        results["before"] = {"ref": args.before, "scales": {}}
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
            before: list[dict] = []
            for _ in range(args.repeats):  # interleaved, so load drift hits every mode alike
                if before_root:  # the earlier code may fail (its Spark gold ran out of memory)
                    before.append(tolerant(cofre_run, directory, args.cache, server.url,
                                           root=before_root))  # fmt: skip
                for mode in args.modes:
                    if mode == "devrun":
                        runs[mode].append(devrun_twice(directory, args.cache))
                    elif mode == "spark":
                        runs[mode].append(spark_run(directory, args.cache, server.url))
                    elif mode == "plain":
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
            if before_root:
                results["before"]["scales"][f"{scale}x"] = summarise(
                    {"server": before}, baselines, masking, source_totals(directory)
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
    for mode, all_runs in runs.items():
        mode_runs = [r for r in all_runs if "failed" not in r]
        if not mode_runs:
            modes[mode] = {"completed": 0, "runs": len(all_runs), "failures": all_runs}
            continue
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
            "completed": len(mode_runs),
            "runs": len(all_runs),
            "wall_median": _median(r["wall"] for r in mode_runs),
            "walls": [round(r["wall"], 2) for r in mode_runs],
            "cpu_median": _median(r["cpu"] for r in mode_runs),
            "peak_rss_mib": max(r["peak_rss_mib"] for r in mode_runs),
            "spark_startup_median": _median(r["spark_startup"] for r in mode_runs),
            "stages": stages,
        }
    out: dict = {"cofre": modes, "source_totals": truth}
    if baselines:
        steps = baselines[0]["timings"]
        out["seed_baseline"] = {
            "wall_median": _median(b["wall"] for b in baselines),
            "cpu_median": _median(b["cpu"] for b in baselines),
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
            if "wall_median" not in m:
                lines += [f"**{mode}**: 0 of {m['runs']} runs completed", ""]
                continue
            lines += [
                f"**{mode}**: wall {m['wall_median']} s (median of {m['walls']}), CPU "
                f"{m['cpu_median']} s, peak RSS "
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
                f"Seed's way: {seed['wall_median']} s, CPU {seed['cpu_median']} s, "
                f"peak RSS {seed['peak_rss_mib']} MiB, "
                f"stages {seed['stages']}; seed wall / Cofre wall = "
                f"{seed['wall_median'] / reference['wall_median']:.2f} (above 1: Cofre faster).",
                f"Seed's totals (fan-out): {seed['inflated_totals']}.",
            ]
        lines += [f"Source truth: {result['source_totals']}.", ""]
    return "\n".join(lines)


# (label, scale, what to read, target, "max" = at most / "min" = at least): issue 26's table
TARGETS = (
    ("1x end to end against a running Prefect server (s)", "1x", ("server", "wall"), 20.0, "max"),
    ("1x `./dev run`, second run on the same home (s)", "1x", ("devrun", "wall"), 30.0, "max"),
    ("gold, default engine, 1x (s)", "1x", ("server", "gold"), 3.0, "max"),
    ("gold, default engine, 10x (s)", "10x", ("server", "gold"), 12.0, "max"),
    ("gold, Spark engine, 10x: runs completed", "10x", ("spark", "completed"), None, "all"),
    ("silver, 1x (s)", "1x", ("server", "silver"), 4.0, "max"),
    ("silver, 10x (s)", "10x", ("server", "silver"), 15.0, "max"),
    ("warehouse (SQLite), 1x (s)", "1x", ("server", "warehouse"), 2.0, "max"),
    ("warehouse (SQLite), 10x (s)", "10x", ("server", "warehouse"), 10.0, "max"),
    ("warehouse at 10x, PostgreSQL (s)", "10x", ("postgres", "warehouse"), None, "max"),
    ("10x: seed's wall / Cofre's wall (above 1: Cofre faster)", "10x", ("seed", "ratio"), 1.5,
     "min"),
    ("peak RSS of the process tree at 10x (MiB)", "10x", ("server", "rss"), 3072.0, "max"),
)  # fmt: skip


def _figure(result: dict, mode: str, what: str) -> float | str | None:
    cofre = result["cofre"]
    if mode == "seed":
        seed, server = result.get("seed_baseline"), cofre.get("server")
        return seed["wall_median"] / server["wall_median"] if seed and server else None
    if mode not in cofre:
        return None
    if what == "completed":
        return f"{cofre[mode]['completed']} of {cofre[mode]['runs']}"
    if "wall_median" not in cofre[mode]:
        return None
    if what == "wall":
        return cofre[mode]["wall_median"]
    if what == "rss":
        return cofre[mode]["peak_rss_mib"]
    return cofre[mode]["stages"][what]["seconds"]


def _cell(figure: float | str | None) -> str:
    if figure is None:
        return "not measured"
    return figure if isinstance(figure, str) else f"{figure:,.2f}"


def targets(results: dict) -> list[str]:
    """The issue's table: every measured figure beside its target, and whether it is met;
    with `--before`, the earlier revision's figure beside it."""
    before = results.get("before")
    head = ["measure", *(["before"] if before else []), "measured", "target", "verdict"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 2) + "---|"]
    for label, scale, (mode, what), target, sense in TARGETS:
        result = results["scales"].get(scale)
        figure = _figure(result, mode, what) if result else None
        earlier = []
        if before:
            old = before["scales"].get(scale)
            earlier = [_cell(_figure(old, mode, what) if old else None)]
        if figure is None:
            verdict = "—"
        elif sense == "all":
            done, _, runs = str(figure).partition(" of ")
            verdict = "met" if done == runs else "missed"
        elif target is None:
            verdict = "recorded"
        else:
            met = figure <= target if sense == "max" else figure >= target
            verdict = "met" if met else "missed"
        cells = [label, *earlier, _cell(figure), _target(target, sense), verdict]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _target(target: float | None, sense: str) -> str:
    if sense == "all":
        return "all, identical tables"
    if target is None:
        return "recorded"
    return f"{'≤' if sense == 'max' else '≥'} {target:,.1f}"


if __name__ == "__main__":
    main()
