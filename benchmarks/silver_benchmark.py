"""The silver stage at real size: `run_silver` timed (wall and CPU) and its outputs hashed.

    python -m benchmarks.silver_benchmark                       # 99,441 orders
    python -m benchmarks.silver_benchmark --orders 994410       # 10x
    python -m benchmarks.silver_benchmark --workdir /tmp/s1 --repeats 3   # reuse landed bronze

Generates the synthetic Olist set, lands it in bronze with the bundled IPCA and weather
snapshots (once per workdir), then runs the silver stage `--repeats` times and prints wall
seconds, CPU seconds of the process (all threads: steadier than wall on a shared machine) and
one content digest over every silver dataset and quarantine file (rows sorted, plus the
Parquet schema), which must not change when only speed does. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import tempfile
import time
from pathlib import Path


def land(workdir: Path, orders: int, seed: int) -> None:
    """Synthetic Olist + snapshot IPCA and weather in `workdir/lake`'s bronze (once)."""
    from blocks.lake import Lake
    from blocks.settings import load_settings
    from tasks.sources.ipca.ingest import ingest_ipca
    from tasks.sources.olist.ingest import check_olist_dir, land_olist_file
    from tasks.sources.olist.synthetic import generate_olist
    from tasks.sources.open_meteo.ingest import ingest_open_meteo

    if (workdir / "lake" / "bronze").exists():
        return
    settings = load_settings(home=workdir)
    generate_olist(workdir / "olist", orders=orders, seed=seed)
    lake = Lake.from_url(str(workdir / "lake"))
    for file in check_olist_dir(workdir / "olist"):
        land_olist_file(lake, file, "bench")
    ingest_ipca(lake, settings, "bench", mode="snapshot")
    ingest_open_meteo(lake, settings, "bench", mode="snapshot")


def output_digest(lake_root: Path, run_id: str) -> str:
    """sha256 over every silver and quarantine file: schema, then rows hashed after sorting."""
    import polars as pl
    import pyarrow.parquet as pq

    files = sorted((lake_root / "silver").glob("*/data.parquet"))
    files += sorted((lake_root / "quarantine").glob(f"*/run_id={run_id}/rows.parquet"))
    digest = hashlib.sha256()
    for path in files:
        frame = pl.read_parquet(path)
        rows = frame.sort(frame.columns, nulls_last=True, maintain_order=True).hash_rows(seed=1)
        digest.update(str(path.relative_to(lake_root)).replace(run_id, "RUN").encode())
        digest.update(str(pq.read_schema(path)).encode())
        digest.update(rows.to_numpy().tobytes())
    return digest.hexdigest()[:16]


def run(workdir: Path, repeats: int) -> list[tuple[float, float, str]]:
    from blocks.lake import Lake
    from blocks.settings import load_settings
    from tasks.silver.run import run_silver

    settings = load_settings(home=workdir)
    lake = Lake.from_url(str(workdir / "lake"))
    results = []
    for i in range(repeats):
        run_id = f"silver-bench-{i}"
        before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        run_silver(lake, settings, run_id)
        wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        results.append((wall, cpu, output_digest(workdir / "lake", run_id)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=99_441)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, help="kept between runs (default: a temp dir)")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cofre-silver-bench-"))
    os.environ["COFRE_HOME"] = str(workdir)  # keyring (masking key) and audit of the runs
    land(workdir, args.orders, args.seed)
    results = run(workdir, args.repeats)
    print(f"silver, {args.orders:,} orders, load {os.getloadavg()[0]:.1f} on {os.cpu_count()}")
    print("| run | wall s | CPU s | output digest |\n|---:|---:|---:|---|")
    for i, (wall, cpu, digest) in enumerate(results, 1):
        print(f"| {i} | {wall:.2f} | {cpu:.2f} | {digest} |")


if __name__ == "__main__":
    main()
