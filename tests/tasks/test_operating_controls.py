"""Issue 19's operating controls: the stage time limit (its watchdog cancels hung work and the
task ends in one `StageTimedOut` naming the setting), retry jitter on every retried task, a
description on every artifact, and Cofre's module loggers attached to Prefect's run logs."""

from __future__ import annotations

import ast
import threading
import time
from pathlib import Path

import pytest

from blocks.errors import StageTimedOut
from blocks.runtime.run_loggers import (
    COFRE_LOGGERS,
    merged_extra_loggers,
    send_cofre_logs_to_prefect,
)
from tasks.time_limits import time_limit

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    path
    for folder in ("flows", "tasks", "blocks", "spark", "validation")
    for path in (ROOT / folder).rglob("*.py")
]


def test_a_hung_body_is_cancelled_by_the_watchdog_and_ends_naming_the_setting():
    released = threading.Event()  # stands for a Spark job that only ends when cancelled
    started = time.monotonic()
    expected = r"past its 0.5 s limit \(COFRE_GOLD_TIMEOUT_SECONDS\)"
    limit = time_limit("gold", "COFRE_GOLD_TIMEOUT_SECONDS", 0.5, on_timeout=released.set)
    with pytest.raises(StageTimedOut, match=expected), limit:
        if not released.wait(10):
            raise AssertionError("the watchdog never cancelled the hung work")
        raise RuntimeError("job cancelled")  # what py4j raises once the job is cancelled
    assert time.monotonic() - started < 5


def test_a_body_within_its_limit_is_untouched_and_other_errors_pass_through():
    cancelled = threading.Event()
    with time_limit("warehouse", "COFRE_WAREHOUSE_TIMEOUT_SECONDS", 5, on_timeout=cancelled.set):
        pass
    with pytest.raises(KeyError), time_limit("warehouse", "X", 5, on_timeout=cancelled.set):
        raise KeyError("not a timeout")
    time.sleep(0.1)
    assert not cancelled.is_set()


def _calls(name: str):
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                called = getattr(func, "id", None) or getattr(func, "attr", None)
                if called == name:
                    yield path, node


def test_every_artifact_has_a_description():
    artifacts = [
        (path, node)
        for name in ("create_markdown_artifact", "create_table_artifact", "create_link_artifact")
        for path, node in _calls(name)
    ]
    assert artifacts
    missing = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path, node in artifacts
        if "description" not in {keyword.arg for keyword in node.keywords}
    ]
    assert not missing


def test_every_retried_task_has_jitter():
    found = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            called = isinstance(node, ast.Call) and (
                getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            )
            if called in ("task", "with_options"):  # Prefect's: the HTTP policy has its own
                names = {keyword.arg for keyword in node.keywords}
                if "retries" in names:
                    found.append((path, node.lineno, "retry_jitter_factor" in names))
            if isinstance(node, ast.Dict):  # option dicts spread into task(**OPTIONS)
                keys = {key.value for key in node.keys if isinstance(key, ast.Constant)}
                if "retries" in keys:
                    found.append((path, node.lineno, "retry_jitter_factor" in keys))
    assert found
    assert [f"{p.relative_to(ROOT)}:{line}" for p, line, jitter in found if not jitter] == []


def test_cofre_loggers_are_merged_into_the_users_extra_loggers():
    assert merged_extra_loggers("mylib, spark") == "mylib,spark," + ",".join(
        name for name in COFRE_LOGGERS if name != "spark"
    )
    env: dict[str, str] = {}
    send_cofre_logs_to_prefect(env)  # Prefect is imported in the test session: attaches
    import logging

    handlers = logging.getLogger("prefect.extra").handlers
    assert handlers
    for name in COFRE_LOGGERS:
        assert set(handlers) <= set(logging.getLogger(name).handlers)
