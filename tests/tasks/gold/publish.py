"""Publish frames already in hand as a gold version, the way the gold stage does but with no
Spark and no gate: for tests that need a current gold version to read or load."""

from __future__ import annotations

import io
from collections.abc import Mapping

import polars as pl

from blocks.lake import Lake
from tasks.gold.versions import make_current, prune_versions, seal_version
from tasks.layers.gold import version_key
from validation.catalog import Layer


def publish_frames(lake: Lake, version: str, frames: Mapping[str, pl.DataFrame]) -> dict:
    """Write `frames` as gold version `version` and make it current; returns the new pointer."""
    for table, frame in frames.items():
        buffer = io.BytesIO()
        frame.write_parquet(buffer)
        lake.write_bytes(
            Layer.GOLD, version_key(version, f"{table}/part-00000.parquet"), buffer.getvalue()
        )
    _, digest = seal_version(lake, version, version)
    pointer = make_current(lake, version, digest)
    prune_versions(lake)
    return pointer
