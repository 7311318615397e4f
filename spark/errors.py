"""The gold job's errors (no engine imported: the DuckDB path never loads pyspark)."""

from __future__ import annotations


class GoldJobError(RuntimeError):
    """The gold job could not run or write (the message says where and what to do)."""


class MissingSilverDataset(GoldJobError):
    """A silver dataset the gold job needs is not in the lake."""
