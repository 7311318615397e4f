"""How long a mistake takes to be reported: each common mistake of tests/flows/test_fail_fast.py,
plus `--help` and a flag typo, run as a user would, from a fresh interpreter. The misspelt
credentials block is looked up on a Prefect API: the benchmark starts a `prefect server` of its
own for that case (15-60 s before the first measurement, not counted). Median of 3 runs each,
after one uncounted run that warms the disk cache: wall seconds and CPU seconds (user + system
of the process and its children). Issue 28's target: <= 2 s.

    python -m benchmarks.fail_fast_benchmark            # Markdown table; JSON in results/
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.services import start_prefect_server, stop_process_group

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
COFRE = str(Path(sys.executable).parent / "cofre")
PIPELINE = [PYTHON, "-m", "flows.full_pipeline"]
TARGET_SECONDS = 2.0


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cases(tmp: Path, api_url: str) -> dict[str, tuple[list[str], dict[str, str]]]:
    """{name: (command, extra environment)}, the test's cases and their expected exits."""
    dead = _dead_port()
    none = str(tmp / "none")
    no_aws = {"AWS_SHARED_CREDENTIALS_FILE": none, "AWS_CONFIG_FILE": none,
              "AWS_EC2_METADATA_DISABLED": "true"}  # fmt: skip
    partial = tmp / "olist-partial"
    subprocess.run([COFRE, "olist", "synth", "--out", str(partial), "--orders", "5"],
                   check=True, capture_output=True, env=_env(tmp))  # fmt: skip
    (partial / "olist_orders_dataset.csv").unlink()
    api = {"PREFECT_API_URL": f"http://127.0.0.1:{dead}/api"}
    misspelt = {"COFRE_S3_CREDENTIALS_BLOCK": "minoi", "PREFECT_API_URL": api_url,
                "COFRE_S3_ENDPOINT_URL": f"http://127.0.0.1:{dead}"}  # fmt: skip
    return {
        "--help": ([*PIPELINE, "--help"], {}),
        "flag typo (--synthetic-order)": ([*PIPELINE, "--synthetic-order", "5"], {}),
        "s3 lake without credentials": ([*PIPELINE, "--lake", "s3://bucket"], no_aws),
        "s3 URL without a bucket": ([*PIPELINE, "--lake", "s3://"], {}),
        "lake URL of another scheme": ([*PIPELINE, "--lake", "gs://bucket"], {}),
        "olist directory missing": ([*PIPELINE, "--olist-dir", str(tmp / "nonexistent")], {}),
        "olist file missing": ([*PIPELINE, "--olist-dir", str(partial)], {}),
        "setting with a bad value": (PIPELINE, {"COFRE_SOURCES": "Snapshot"}),
        "misspelt S3 credentials block": ([*PIPELINE, "--lake", "s3://bucket"], misspelt),
        "PostgreSQL unreachable": (
            [*PIPELINE, "--warehouse", f"postgresql://cofre@127.0.0.1:{dead}/cofre"],
            {},
        ),
        "warehouse URL of another dialect": ([*PIPELINE, "--warehouse", "mysql://c@db/c"], {}),
        "Prefect API unreachable": (PIPELINE, api),
        "Prefect API unreachable for cofre secrets": ([COFRE, "secrets", "list"], api),
        "Spark master unreachable": ([*PIPELINE, "--master", f"spark://127.0.0.1:{dead}"], {}),
        "synthetic set to an unwritable place": (
            [COFRE, "olist", "synth", "--out", "/proc/nope", "--orders", "5"],
            {},
        ),
    }


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("COFRE_", "PREFECT_API", "AWS_"))
    }
    env.pop("PREFECT_HOME", None)
    return {**env, "COFRE_HOME": str(tmp / "home"), "DO_NOT_TRACK": "1", **extra}


def measure(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (children's user + system) and the exit code of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, timeout=300)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, result.returncode


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)  # cwd: an empty directory, so no ./.env is read
        server = start_prefect_server(tmp / "prefect")
        try:
            rows = _measure_all(cases(tmp, server.url), tmp, args.repeats)
        finally:
            stop_process_group(server.process)
    print(to_markdown(rows, args.repeats))
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out = ROOT / "benchmarks" / "results" / f"fail-fast-{stamp}.json"
    out.write_text(json.dumps({"repeats": args.repeats, "cpus": os.cpu_count(), "rows": rows},
                              indent=2) + "\n")  # fmt: skip
    print(f"\n{out.relative_to(ROOT)}")


def _measure_all(all_cases: dict, tmp: Path, repeats: int) -> list[dict]:
    rows = []
    for name, (command, extra) in all_cases.items():
        measure(command, _env(tmp, **extra), tmp)  # warm the disk cache: not counted
        runs = [measure(command, _env(tmp, **extra), tmp) for _ in range(repeats)]
        rows.append({
            "case": name,
            "wall_s": round(statistics.median(r[0] for r in runs), 2),
            "cpu_s": round(statistics.median(r[1] for r in runs), 2),
            "exit": runs[-1][2],
        })  # fmt: skip
    return rows


def to_markdown(rows: list[dict], repeats: int) -> str:
    lines = [
        f"| case (median of {repeats}) | wall s | CPU s | exit |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {r['case']} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} | {r['exit']} |" for r in rows]
    slowest = max(r["wall_s"] for r in rows)
    verdict = "met" if slowest <= TARGET_SECONDS else "missed"
    lines += ["", f"Slowest: {slowest:.2f} s wall; target <= {TARGET_SECONDS:.0f} s {verdict}."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
