"""Inputs that come back: seed 42, then seed 7, then seed 42 again, three real runs of
`python -m flows.full_pipeline` on one COFRE_HOME. Bronze already holds seed 42's files from
the first run; reusing that landing would leave seed 7's objects the newest, and silver would
publish seed 7's numbers for a run that read seed 42's (tasks/bronze.py lands them again)."""

from __future__ import annotations

from tests.integration.test_concurrent_runs import assert_warehouse_holds_seed, start_pipeline


def test_a_run_back_on_earlier_inputs_publishes_those_inputs(prefect_api, tmp_path):
    home = tmp_path / "home"
    for seed in (42, 7, 42):
        process = start_pipeline(home, prefect_api.url, seed, wait_seconds=0)
        _, err = process.communicate(timeout=900)
        assert process.returncode == 0, err[-3000:]
        assert_warehouse_holds_seed(home, seed)
