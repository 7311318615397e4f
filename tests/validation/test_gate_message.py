"""The quality gate's message shows shares precise enough to tell a tiny share from zero."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
import pytest

from blocks.errors import QualityGateFailed
from validation.gate import ROW, percentages, run_gate


def _one_bad_row_in(rows: int) -> pl.DataFrame:
    return pl.DataFrame({ROW: range(rows), "price": [1.0] * (rows - 1) + [-1.0]})


def test_one_bad_row_in_20116_is_not_shown_as_zero_against_a_zero_threshold():
    schema = pa.DataFrameSchema({"price": pa.Column(float, pa.Check.ge(0))}, name="items")
    with pytest.raises(QualityGateFailed) as failed:
        run_gate("items", _one_bad_row_in(20_116), schema, max_share=0)
    assert "1 of 20,116 rows (0.005%) failed row checks, above the 0% threshold" in str(
        failed.value
    )


@pytest.mark.parametrize(
    ("share", "threshold", "shown"),
    [
        (59 / 1690, 0.01, ("3.5%", "1.0%")),  # the usual case keeps one decimal
        (0.01004, 0.01, ("1.004%", "1.000%")),  # never "1.0% above the 1.0% threshold"
        (0.0002, 0.0001, ("0.02%", "0.01%")),
        (1e-7, 0, ("0.00001%", "0%")),
    ],
)
def test_shares_are_shown_apart_from_their_threshold(share, threshold, shown):
    assert percentages(share, threshold) == shown
