"""The gold job through spark-submit, as it runs on a cluster, writes the same gold."""

from __future__ import annotations

from polars.testing import assert_frame_equal

from validation.catalog import GOLD_TABLES
from validation.gold_reader import read_gold_table


def test_spark_submit_writes_identical_gold(submitted_gold, gold_dir):
    code, summary, log = submitted_gold.wait()
    assert code == 0, log[-3000:]
    assert summary["rows"] == gold_dir[1]
    assert summary["session_seconds"] > 0 and summary["compute_seconds"] > 0
    for name in GOLD_TABLES:
        assert_frame_equal(
            read_gold_table(str(submitted_gold.gold / name)),
            read_gold_table(str(gold_dir[0] / name)),
            check_exact=True,
        )
