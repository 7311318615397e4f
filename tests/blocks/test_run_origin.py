"""Which of a run's job variables its deployment did not declare (a pure function)."""

from __future__ import annotations

import pytest

from blocks.runtime.run_origin import refuse_undeclared_overrides, undeclared_overrides

DEPLOYMENT = {"working_dir": "/srv/cofre", "env": {"COFRE_HOME": "/var/lib/cofre"}}


def test_a_run_without_job_variables_or_repeating_the_deployments_has_no_override():
    assert undeclared_overrides({}, DEPLOYMENT) == []
    assert undeclared_overrides(dict(DEPLOYMENT), DEPLOYMENT) == []
    assert undeclared_overrides({"env.COFRE_HOME": "/var/lib/cofre"}, DEPLOYMENT) == []


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        ({"command": "sh -c 'id'"}, ["command"]),
        ({"env": {"PGHOST": "x", "COFRE_HOME": "/var/lib/cofre"}}, ["env.PGHOST"]),
        ({"env": {"COFRE_HOME": "/tmp/other"}}, ["env.COFRE_HOME"]),
        ({"env.LD_PRELOAD": "/tmp/x.so"}, ["env.LD_PRELOAD"]),
        ({"working_dir": "/tmp/attacker"}, ["working_dir"]),
        (
            {"stream_output": False, "env": {"HTTPS_PROXY": "x"}},
            ["env.HTTPS_PROXY", "stream_output"],
        ),
    ],
)
def test_every_undeclared_or_changed_job_variable_is_named(run, expected):
    assert undeclared_overrides(run, DEPLOYMENT) == expected


def test_outside_a_flow_run_the_check_reads_nothing():
    refuse_undeclared_overrides(flow_run_id=None)  # no flow run context: nothing to check
