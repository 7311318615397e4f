"""Prefect's own noise stays off Cofre's console, whichever entry point runs and whatever the
shell exports (no `./dev`, no DO_NOT_TRACK): telemetry, the events worker's "Still
processing items" as a command ends, and each task run's "Finished in state Completed()"."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

from blocks.runtime.prefect_noise import UI_ONLY, DropTaskCompletions, quiet_task_completions
from tests.prefect_rest import delete_all_cofre_blocks, patch_block

ROOT = Path(__file__).resolve().parents[2]
COMPLETED = "Finished in state Completed()"
PRINT_SETTINGS = (
    "import flows, logging, os; from prefect.settings import get_current_settings; "
    "print(os.environ['DO_NOT_TRACK'], get_current_settings().server.analytics_enabled, "
    "logging.getLogger('EventsWorker').getEffectiveLevel())"
)


def _plain_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A user's shell: none of Prefect's or Cofre's variables, no DO_NOT_TRACK."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PREFECT_", "COFRE_")) and k != "DO_NOT_TRACK"
    }
    env |= {"HOME": str(tmp_path / "user"), "COFRE_HOME": str(tmp_path / "cofre")}
    return env | extra


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_every_entry_point_turns_telemetry_off_and_the_draining_warnings_down(tmp_path):
    done = _run(_plain_env(tmp_path), "-c", PRINT_SETTINGS)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "False", "40"]  # 40: ERROR
    mine = _run(_plain_env(tmp_path, DO_NOT_TRACK="0"), "-c", PRINT_SETTINGS)
    assert mine.stdout.split()[0] == "0"  # a value the user set is theirs


def test_a_run_on_the_temporary_api_shows_no_telemetry_error(tmp_path):
    done = _run(_plain_env(tmp_path), "-m", "flows.lifecycle", "--days", "30", "--dry-run")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "telemetry" not in (done.stdout + done.stderr).lower(), done.stderr[-3000:]


def test_secrets_verify_with_a_broken_block_ends_without_prefect_noise(prefect_api, tmp_path):
    delete_all_cofre_blocks()
    env = _plain_env(tmp_path, PREFECT_API_URL=prefect_api.url, COFRE_SECRET_API_KEY="k-1")
    assert _run(env, "-m", "flows.cli", "keys", "init").returncode == 0
    assert _run(env, "-m", "flows.cli", "secrets", "set", "api-key", "noise").returncode == 0
    patch_block(prefect_api.url, "cofre-api-key", "noise", {"key_id": "forged"})
    done = _run(env, "-m", "flows.cli", "secrets", "verify")
    assert done.returncode == 1 and "BROKEN   cofre-api-key/noise" in done.stderr, done.stderr
    assert "Still processing" not in done.stderr and "telemetry" not in done.stderr, done.stderr
    delete_all_cofre_blocks()


def _record(logger: str, level: int, message: str) -> logging.LogRecord:
    return logging.LogRecord(logger, level, __file__, 1, message, None, None)


def test_only_a_task_runs_completion_and_ui_only_records_leave_the_console():
    drop = DropTaskCompletions()
    assert not drop.filter(_record("prefect.task_runs", logging.INFO, COMPLETED))
    ui_only = _record("prefect.task_runs", logging.INFO, "orders.csv: 300 rows, landed")
    ui_only.__dict__.update(UI_ONLY)
    assert not drop.filter(ui_only)
    warning = _record("prefect.task_runs", logging.WARNING, "kept although marked")
    warning.__dict__.update(UI_ONLY)
    assert drop.filter(warning)
    kept = [
        _record("prefect.task_runs", logging.ERROR, "Finished in state Failed('boom')"),
        _record("prefect.task_runs", logging.INFO, "Finished in state Cached(type=COMPLETED)"),
        _record("prefect.task_runs", logging.INFO, "olist_orders_dataset.csv: 300 rows, landed"),
        _record("prefect.flow_runs", logging.INFO, COMPLETED),  # a stage's subflow ending
    ]
    assert all(drop.filter(record) for record in kept)


def test_the_console_handlers_get_the_filter_once_and_other_handlers_none():
    console, api = logging.StreamHandler(io.StringIO()), logging.NullHandler()
    root = logging.getLogger()
    root.addHandler(console)
    root.addHandler(api)
    try:
        quiet_task_completions()
        quiet_task_completions()
        assert [type(f) for f in console.filters].count(DropTaskCompletions) == 1
        assert not api.filters
    finally:
        root.removeHandler(console)
        root.removeHandler(api)
