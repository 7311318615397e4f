"""`--resume RUN_ID`: the options a resumed full-pipeline run runs with (tasks/resume.py).

The command line calls `resumed_options` before Prefect starts (a local lake's run is checked
in a second); the flow calls it again under the home's lock, where it counts.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from blocks.settings import load_settings
from flows.options import PipelineOptions

if TYPE_CHECKING:
    from blocks.lake import Lake
    from tasks.resume import ResumePlan


def resumed_options(
    options: PipelineOptions, lake: Lake | None = None
) -> tuple[ResumePlan, PipelineOptions]:
    """The plan for resuming run `options.resume` from `lake` (None: the lake `options.lake`
    names, opened here), and the options to run with: the run's own, with the lake, engine
    and master given now (when given). Raises `ConfigurationError` (tasks/resume.py says
    when)."""
    from blocks.lake import Lake
    from tasks.resume import check_run_id, plan_resume

    run_id = check_run_id(options.resume or "")
    lake = lake or Lake.from_settings(load_settings(lake_url=options.lake))
    plan = plan_resume(lake, run_id, options.given())
    stored = PipelineOptions.from_stored(plan.options)
    merged = replace(
        stored,
        lake=options.lake,
        engine=options.engine or stored.engine,
        master=options.master or stored.master,
        resume=run_id,
    )
    return plan, merged
