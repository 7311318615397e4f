"""The DuckDB engine's interrupt: the gold time limit's watchdog stops a running query."""

from __future__ import annotations

import threading
import time

import duckdb
import pytest

from spark.engine import DuckDBEngine


def test_interrupt_stops_a_running_query_and_is_false_once_closed():
    engine = DuckDBEngine()
    stopped: list[bool] = []
    timer = threading.Timer(0.5, lambda: stopped.append(engine.interrupt()))
    timer.start()
    started = time.monotonic()
    with pytest.raises(duckdb.InterruptException):
        engine.rows("SELECT COUNT(*) FROM range(1000000000000) a WHERE a.range % 7 = 3")
    assert time.monotonic() - started < 30
    timer.join()
    assert stopped == [True]
    engine.close()
    engine.close()  # again: nothing happens
    assert engine.interrupt() is False
