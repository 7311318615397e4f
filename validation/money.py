"""Money in integer cents: sums that are exact and the same however the rows are split."""

from __future__ import annotations

import polars as pl


def cents(column: str) -> pl.Expr:
    """`column` (BRL, a float) as integer cents, rounded half away from zero."""
    return (pl.col(column) * 100).round(0).cast(pl.Int64)


def cents_total(frame: pl.DataFrame, column: str) -> int:
    """Σ `column` of `frame` in integer cents (0 for an empty frame)."""
    return int(frame.select(cents(column).sum()).item() or 0)
