"""`python -m flows.<stage>` loads its modules with the garbage collector off, then freezes
what they built and turns it back on, whichever way the command line ends."""

from __future__ import annotations

import gc

import pytest

import flows.stage_cli as stage_cli


@pytest.fixture
def collector():
    """The test process's collector as it was, whatever the test did to it."""
    was_on = gc.isenabled()
    yield
    gc.unfreeze()
    if was_on:
        gc.enable()


def test_the_command_line_is_checked_and_the_stage_loaded_with_the_collector_off(
    monkeypatch, collector
):
    seen = {}

    def check(args, options, stage):
        seen["checking"] = gc.isenabled()
        raise SystemExit(7)

    monkeypatch.setattr(stage_cli, "check_command_line", check)
    gc.enable()
    with pytest.raises(SystemExit) as stop:
        stage_cli.run_stage_cli("full_pipeline", None, ["--synthetic-orders", "5"])
    assert stop.value.code == 7
    assert seen == {"checking": False}
    assert gc.isenabled()  # back on, although the run never got to its flow


def test_a_flag_typo_leaves_the_collector_on(collector):
    gc.enable()
    with pytest.raises(SystemExit) as stop:
        stage_cli.run_stage_cli("full_pipeline", None, ["--synthetic-order", "5"])
    assert stop.value.code == 2
    assert gc.isenabled()


def test_loading_the_stage_freezes_what_it_built_and_turns_the_collector_on(collector):
    gc.disable()
    gc.unfreeze()
    module = stage_cli.import_stage("ingestion")
    assert module.__name__ == "flows.ingestion"
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0
