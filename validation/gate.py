"""The quality gate: row-level failures are quarantined, dataset-level failures stop the run.

A frame arrives typed, with a `_row` column (its 1-based data row in the source file).
Pandera validates it lazily (every failure collected); failures that point at a row become
quarantine records (check, column, value), failures that do not (a missing column, a wrong
dtype) are dataset-level and raise `QualityGateFailed` listing them all. So does a quarantined
share above the threshold (default 1%): a file that is mostly bad is not "a few bad rows".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaError, SchemaErrors

from blocks.errors import QualityGateFailed
from validation.unique import validate

ROW = "_row"
FAILURE_COLUMNS = {ROW: pl.Int64, "_check": pl.String, "_column": pl.String, "_value": pl.String}
DEFAULT_MAX_QUARANTINE_SHARE = 0.01


def empty_failures() -> pl.DataFrame:
    return pl.DataFrame(schema=FAILURE_COLUMNS)


def row_failures(frame: pl.DataFrame, bad: pl.Expr, check: str, column: str | None) -> pl.DataFrame:
    """Failure records for the rows of `frame` where `bad` is true."""
    value = pl.col(column).cast(pl.String) if column else pl.lit(None, pl.String)
    return frame.filter(bad).select(
        pl.col(ROW).cast(pl.Int64),
        pl.lit(check).alias("_check"),
        pl.lit(column, pl.String).alias("_column"),
        value.alias("_value"),
    )


@dataclass
class GateResult:
    """What the gate let through, and why it held rows back."""

    dataset: str
    rows_in: int
    clean: pl.DataFrame
    failures: pl.DataFrame  # one record per (row, failed check)
    duplicates_removed: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def quarantined_rows(self) -> int:
        return self.failures[ROW].n_unique() if self.failures.height else 0

    @property
    def rows_out(self) -> int:
        return self.clean.height

    def failure_counts(self) -> dict[str, int]:
        if not self.failures.height:
            return {}
        counts = self.failures.group_by("_check", "_column").agg(pl.col(ROW).n_unique())
        return {
            f"{check}({column})" if column else check: n
            for check, column, n in counts.sort("_check").iter_rows()
        }


def pandera_failures(frame: pl.DataFrame, schema: pa.DataFrameSchema) -> pl.DataFrame:
    """Row-level Pandera failures as failure records; dataset-level ones raise."""
    try:
        validate(schema, frame.drop(ROW))
        return empty_failures()
    except SchemaErrors as errors:
        cases = errors.failure_cases
    except SchemaError as error:  # non-lazy path (should not happen with lazy=True)
        raise QualityGateFailed(f"{schema.name}: {error}", schema.name) from None
    dataset_level = cases.filter(pl.col("index").is_null())
    if dataset_level.height:
        problems = [
            f"{schema.name}: check {check!r} failed"
            + (f" on column {column!r}" if column else "")
            + f" ({str(case)[:120]})"
            for case, column, check in dataset_level.select(
                "failure_case", "column", "check"
            ).iter_rows()
        ]
        raise QualityGateFailed(
            "Dataset-level quality failures (fix the source or the schema, then re-run):\n  - "
            + "\n  - ".join(problems),
            schema.name,
        )
    rows = frame.select(pl.col(ROW).cast(pl.Int64)).with_row_index("index")
    return (
        cases.select(
            pl.col("index").cast(pl.UInt32),
            pl.col("check").alias("_check"),
            pl.col("column").alias("_column"),
            pl.col("failure_case").cast(pl.String).alias("_value"),
        )
        .join(rows, on="index", how="left")
        .select(*FAILURE_COLUMNS)
    )


def run_gate(
    dataset: str,
    frame: pl.DataFrame,
    schema: pa.DataFrameSchema,
    *,
    prior_failures: pl.DataFrame | None = None,
    max_share: float = DEFAULT_MAX_QUARANTINE_SHARE,
    rows_in: int | None = None,
) -> GateResult:
    """Validate `frame` (typed, with `_row`); return the clean rows and the failure records.

    `prior_failures` are failures found before Pandera (unparseable values, malformed CSV
    rows, referential checks); their rows are quarantined too.
    """
    failures = pandera_failures(frame, schema)
    if prior_failures is not None and prior_failures.height:
        failures = pl.concat([prior_failures.select(*FAILURE_COLUMNS), failures])
    bad_rows = failures[ROW].drop_nulls().unique()
    clean = frame.filter(~pl.col(ROW).is_in(bad_rows.implode()))
    result = GateResult(dataset, rows_in if rows_in is not None else frame.height, clean, failures)
    check_share(result, max_share)
    return result


def check_share(result: GateResult, max_share: float) -> None:
    """Raise when more than `max_share` of the dataset's rows were quarantined."""
    if not result.rows_in:
        return
    share = result.quarantined_rows / result.rows_in
    if share > max_share:
        shown, threshold = percentages(share, max_share)
        raise QualityGateFailed(
            f"{result.dataset}: {result.quarantined_rows:,} of {result.rows_in:,} rows "
            f"({shown}) failed row checks, above the {threshold} threshold. "
            f"Failures: {result.failure_counts()}. Inspect the quarantine, fix the source, "
            "or raise --max-quarantine-share if this is expected.",
            result.dataset,
        )


def percentages(share: float, threshold: float) -> tuple[str, str]:
    """`share` and `threshold` as percentages precise enough to tell apart: one decimal from
    0.1% up ("3.5%", "1.0%"), two significant digits below ("0.005%"), zero as "0%", and more
    decimals while both would read the same (1.004% above 1.0% is "1.004%", "1.000%")."""
    for extra in range(6):
        pair = (percent(share, extra), percent(threshold, extra))
        if pair[0] != pair[1]:
            return pair
    return pair


def percent(share: float, extra_decimals: int = 0) -> str:
    """One share as a percentage (see `percentages`)."""
    value = share * 100
    if value == 0:
        return "0%"
    if value >= 0.1:
        return f"{value:.{1 + extra_decimals}f}%"
    two_significant = 1 - math.floor(math.log10(value))
    text = f"{value:.{two_significant + extra_decimals}f}"
    return (text.rstrip("0").rstrip(".") if extra_decimals == 0 else text) + "%"
