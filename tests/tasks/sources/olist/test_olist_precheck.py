"""The Olist check started ahead in a child process: its answer is the check's, used only while
it holds; anything else is checked here, as before (tasks/sources/olist/precheck.py)."""

from __future__ import annotations

import logging

import pytest

import flows.stage_cli as stage_cli
import tasks.sources.olist.check as check
import tasks.sources.olist.precheck as precheck
from blocks.errors import CofreError, InvalidSourceData
from flows.options import PipelineOptions
from tasks.sources.olist.ingest import checked_olist_dir

WARNINGS = "tasks.sources.olist.ingest"


def _scanned_here(path):
    """The parent's own scan, failing the test: only the child's answer can pass it."""
    raise AssertionError(f"{path} was checked in this process")


@pytest.fixture
def no_check_here(monkeypatch):
    monkeypatch.setattr(check, "_scan", _scanned_here)


def test_the_answer_ahead_is_the_check_and_its_warnings_are_logged_once(
    olist_dir, monkeypatch, caplog
):
    (olist_dir / "notes.txt").write_text("not an Olist file\n")
    expected = check.check_olist_dir(olist_dir)
    caplog.clear()
    precheck.start_precheck(olist_dir)
    monkeypatch.setattr(check, "_scan", _scanned_here)
    with caplog.at_level(logging.WARNING, logger=WARNINGS):
        got = checked_olist_dir(olist_dir)
    assert got == expected
    # Logged here by the replay of the child's record (a record may reach pytest's handler
    # twice, as it does every record, once the suite's Prefect logging is set up).
    ignored = [r for r in caplog.records if r.name == WARNINGS]
    assert {r.getMessage() for r in ignored} == {
        f"Ignoring notes.txt in {olist_dir}: it is not one of the 9 Olist files."
    }
    assert {r.module for r in ignored} == {"precheck"}
    assert precheck.take_precheck(olist_dir) is None  # used once


def test_a_file_changed_after_the_child_read_it_is_checked_here(olist_dir):
    precheck.start_precheck(olist_dir)
    precheck._STARTED[olist_dir.resolve()].wait()  # the child has read every file
    orders = olist_dir / "olist_orders_dataset.csv"
    lines = orders.read_bytes().splitlines(keepends=True)
    orders.write_bytes(b"".join(lines[:-1]))  # one order fewer
    files = {f.name: f for f in checked_olist_dir(olist_dir)}
    assert files["olist_orders_dataset.csv"].rows == 499
    assert files["olist_orders_dataset.csv"].sha256[1] == orders.stat().st_size


def test_a_file_added_after_the_child_listed_the_directory_is_warned_about_here(olist_dir, caplog):
    precheck.start_precheck(olist_dir)
    precheck._STARTED[olist_dir.resolve()].wait()
    (olist_dir / "late.csv").write_text("x\n")
    with caplog.at_level(logging.WARNING, logger=WARNINGS):
        checked_olist_dir(olist_dir)
    assert any("Ignoring late.csv" in r.getMessage() for r in caplog.records)


def test_a_problem_found_ahead_is_reported_by_the_check_here(olist_dir):
    reviews = olist_dir / "olist_order_reviews_dataset.csv"
    reviews.write_bytes(reviews.read_bytes() + b"x,caf\xe9\n")
    with pytest.raises(InvalidSourceData) as here:
        check.check_olist_dir(olist_dir)
    precheck.start_precheck(olist_dir)
    with pytest.raises(InvalidSourceData) as ahead:
        checked_olist_dir(olist_dir)
    assert str(ahead.value) == str(here.value)
    assert "olist_order_reviews_dataset.csv: not valid UTF-8 at line" in str(here.value)


def test_another_directory_is_checked_here(olist_dir, pristine, no_check_here):
    precheck.start_precheck(pristine)
    try:
        with pytest.raises(AssertionError, match="was checked in this process"):
            checked_olist_dir(olist_dir)
    finally:
        precheck._stop(precheck._STARTED.pop(pristine.resolve()))


def test_a_child_that_fails_leaves_the_check_here(olist_dir, monkeypatch):
    monkeypatch.setattr(precheck.sys, "executable", "/bin/false")
    precheck.start_precheck(olist_dir)
    assert precheck.take_precheck(olist_dir) is None


class _Settings:
    def __init__(self, olist_dir):
        self.olist_dir = olist_dir


@pytest.mark.parametrize(
    ("stage", "options", "extras", "olist_dir", "started"),
    [
        ("full_pipeline", {}, {}, "D", True),
        ("ingestion", {}, {"only": None}, "D", True),
        ("ingestion", {}, {"only": ["olist", "ipca"]}, "D", True),
        ("ingestion", {}, {"only": ["ipca"]}, "D", False),
        ("full_pipeline", {}, {}, None, False),  # synthetic: nothing to read
        ("full_pipeline", {"synthetic_orders": 500}, {}, "D", False),
        ("full_pipeline", {"resume": "r-1"}, {}, "D", False),
        ("silver", {}, {}, "D", False),
    ],
)
def test_the_command_line_starts_it_only_where_the_preflight_checked_the_directory(
    monkeypatch, stage, options, extras, olist_dir, started
):
    calls = []
    monkeypatch.setattr(precheck, "start_precheck", calls.append)
    stage_cli.check_olist_ahead(stage, PipelineOptions(**options), extras, _Settings(olist_dir))
    assert calls == (["D"] if started else [])


def test_a_refused_command_line_starts_nothing(monkeypatch, olist_dir):
    calls = []
    monkeypatch.setattr(precheck, "start_precheck", calls.append)

    def refused(args, options, stage):
        raise CofreError("refused by the preflight")

    monkeypatch.setattr(stage_cli, "check_command_line", refused)
    with pytest.raises(SystemExit) as stop:
        stage_cli.run_stage_cli("full_pipeline", None, ["--olist-dir", str(olist_dir)])
    assert stop.value.code == 1
    assert calls == []
