"""Silver stage: bronze -> typed, validated, PII-masked Parquet; bad rows quarantined.

python -m flows.silver --help
"""

from __future__ import annotations

if __name__ == "__main__":  # flags, settings, paths, URLs checked before Prefect is imported
    from flows.stage_cli import run_stage_cli

    run_stage_cli("silver", __doc__)  # imports flows.silver, runs its flow, exits

from prefect import flow

from flows.run_frame import cofre_run, current_frame
from tasks.console import markdown_as_text
from tasks.silver.tasks import run_silver_task


@flow(name="silver", log_prints=True)
@cofre_run
def silver(
    lake: str | None = None,
    masking_policy: str | None = None,
    max_quarantine_share: float | None = None,
    run_id: str | None = None,
) -> dict:
    """Build silver from the newest bronze objects; stops at the first failed gate.

    Returns {"rows": per-dataset gate results, "reconciliation": ..., "report": StageReport}.
    """
    frame = current_frame()  # settings, lake and run id from the parameters, built once
    summary = run_silver_task(frame.lake, frame.settings, frame.run_id)
    print(markdown_as_text(summary.report_markdown))  # the artifact's, as plain text
    return summary.stage_report().as_flow_result()
