"""Quarantine: rows held back by a gate, with the failed check, column and value.

Quarantined rows are written as they arrived (text), but personal data is masked with the
same policy as silver, free text is scrubbed, and values of masked columns are withheld: the
quarantine layer must not become the place where PII escapes masking.
"""

from __future__ import annotations

import io

import polars as pl

from blocks.lake import Lake, LakeObject
from tasks.silver.masking import SCRUB_PATTERNS, MaskingPolicy, apply_masking
from tasks.sources.olist.parse import LINE
from validation.catalog import QUARANTINE, quarantine_key
from validation.gate import FAILURE_COLUMNS, ROW

WITHHELD = "[WITHHELD: personal data]"


def _scrub(expr: pl.Expr) -> pl.Expr:
    for pattern, tag in SCRUB_PATTERNS:
        expr = expr.str.replace_all(pattern, tag)
    return expr


def quarantine_frame(
    dataset: str,
    text: pl.DataFrame,
    failures: pl.DataFrame,
    policy: MaskingPolicy,
    key: bytes,
    lines: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One record per (row, failed check): the row's text columns plus `_check/_column/_value`.

    `lines` (`_row` -> `_line`, from `read_text_frame`) adds the file's 1-based line where
    each record starts, also for records too malformed to have text columns.
    """
    rules = policy.for_dataset(dataset)
    bad = text.join(failures.select(ROW).unique(), on=ROW, how="semi")
    if lines is not None:
        bad = bad.drop(LINE, strict=False)
    masked, _ = apply_masking(bad, dataset, policy, key) if rules else (bad, None)
    text_columns = [c for c in masked.columns if c != ROW and masked.schema[c] == pl.String]
    masked = masked.with_columns(_scrub(pl.col(c)) for c in text_columns)
    sensitive = [column for column, rule in rules.items() if rule.method != "keep"]
    value = (
        pl.when(pl.col("_column").is_in(sensitive) | (pl.col("_column").is_null() & bool(rules)))
        .then(pl.lit(WITHHELD))
        .otherwise(_scrub(pl.col("_value")))
    )
    found = failures.select(*FAILURE_COLUMNS).with_columns(value.alias("_value"))
    if lines is not None:
        found = found.join(lines.select(ROW, LINE), on=ROW, how="left")
    return found.join(masked, on=ROW, how="left").sort(ROW)


def write_quarantine(lake: Lake, dataset: str, run_id: str, frame: pl.DataFrame) -> LakeObject:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return lake.write_bytes(QUARANTINE, quarantine_key(dataset, run_id), buffer.getvalue())
