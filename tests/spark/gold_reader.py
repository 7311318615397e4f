"""Read one gold table as the Spark job wrote it: a directory of Parquet part files (no
version, no manifest: what the job's own tests and the benchmarks compare)."""

from __future__ import annotations

from typing import Any

import polars as pl


def read_gold_table(directory: str, fs: Any = None) -> pl.DataFrame:
    """A gold table: every `*.parquet` part file of its directory (local, or through `fs`)."""
    if fs is None:
        return pl.read_parquet(f"{directory.rstrip('/')}/*.parquet")
    parts = sorted(fs.glob(f"{directory.rstrip('/')}/*.parquet"))
    frames = []
    for part in parts:
        with fs.open(part, "rb") as handle:
            frames.append(pl.read_parquet(handle))
    return pl.concat(frames)
