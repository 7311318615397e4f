"""The seed's weather warning rules, kept for both weather sources, and the result both report.

A temperature below -10 °C or above 50 °C, or more than 1% null measurements, is not an error
(the payload is landed and parsed) but raises a warning in the run log and the audit trail.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from blocks import audit
from tasks.runlog import run_logger
from tasks.sources.external import SourceResult, SourceSession

TEMPERATURE_MIN_C = -10.0
TEMPERATURE_MAX_C = 50.0
MAX_NULL_SHARE = 0.01


def weather_warnings(
    frame: pl.DataFrame, source: str, temperature_columns: list[str], measure_columns: list[str]
) -> list[str]:
    """Check `frame`; log and audit every warning, and return them (empty when clean)."""
    warnings: list[str] = []
    if frame.is_empty():
        return warnings
    out_of_range = frame.filter(
        pl.any_horizontal(
            (pl.col(c) < TEMPERATURE_MIN_C) | (pl.col(c) > TEMPERATURE_MAX_C)
            for c in temperature_columns
        )
    )
    if out_of_range.height:
        warnings.append(
            f"{out_of_range.height} row(s) with a temperature outside "
            f"[{TEMPERATURE_MIN_C:g}, {TEMPERATURE_MAX_C:g}] °C"
        )
        _audit(source, "temperature_range", out_of_range.height, frame.height)
    cells = frame.height * len(measure_columns)
    nulls = int(frame.select(pl.sum_horizontal(pl.col(measure_columns).null_count())).item())
    if nulls / cells > MAX_NULL_SHARE:
        warnings.append(
            f"{nulls} null measurement(s) of {cells} ({nulls / cells:.1%} > {MAX_NULL_SHARE:.0%})"
        )
        _audit(source, "null_share", nulls, cells)
    for warning in warnings:
        run_logger(__name__).warning("%s: %s", source, warning)
    return warnings


def weather_result(
    session: SourceSession[Any],
    objects: list[dict[str, Any]],
    frame: pl.DataFrame,
    *,
    temperature_columns: list[str],
    measure_columns: list[str],
    skipped: str | None = None,
) -> SourceResult:
    """A weather source's `SourceResult` for the run: its bronze rows, the rows parsed
    (`frame`), the warnings of the rules above plus `skipped` (what the client had nothing
    for), and `synthetic` when the bundled sample served it."""
    warnings = weather_warnings(frame, session.source, temperature_columns, measure_columns)
    if skipped:
        warnings.append(skipped)
        run_logger(__name__).warning("%s: %s", session.source, skipped)
    return session.result(
        objects=objects,
        rows=frame.height,
        synthetic=session.mode == "snapshot",
        warnings=warnings,
    )


def _audit(source: str, check: str, failing: int, checked: int) -> None:
    audit.record(
        audit.Action.VALIDATION_FAILED,
        source,
        details={"check": check, "failing": failing, "checked": checked},
        outcome="warning",
        compliance="LGPD_NA",
    )
