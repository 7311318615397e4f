"""Silver stage: bronze -> typed, validated, PII-masked Parquet; bad rows quarantined.

python -m flows.silver --help
"""

from __future__ import annotations

import argparse

from prefect import flow

from blocks.lake import Lake
from blocks.settings import load_settings
from flows.run_frame import cofre_run, prepare_cli_run
from tasks.runlog import current_run_id, exit_on_cofre_error
from tasks.silver.tasks import run_silver_task


@flow(name="silver", log_prints=True)
@cofre_run
def silver(
    lake: str | None = None,
    masking_policy: str | None = None,
    max_quarantine_share: float | None = None,
    run_id: str | None = None,
) -> dict:
    """Build silver from the newest bronze objects; stops at the first failed gate."""
    settings = load_settings(
        lake_url=lake, masking_policy=masking_policy, max_quarantine_share=max_quarantine_share
    )
    summary = run_silver_task(Lake.from_settings(settings), settings, run_id or current_run_id())
    print(summary.report_markdown)
    return {"rows": summary.rows, "reconciliation": summary.reconciliation}


def add_silver_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--masking-policy", choices=["default", "seed"], help="PII masking preset (default)"
    )
    parser.add_argument(
        "--max-quarantine-share",
        type=float,
        help="fail a dataset's gate above this share of quarantined rows (default 0.01)",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m flows.silver", description=__doc__)
    parser.add_argument("--lake", help="lake URL: a directory or s3://bucket[/prefix]")
    add_silver_arguments(parser)
    args = parser.parse_args(argv)
    with exit_on_cofre_error():
        prepare_cli_run(args)
        silver(
            lake=args.lake,
            masking_policy=args.masking_policy,
            max_quarantine_share=args.max_quarantine_share,
        )


if __name__ == "__main__":
    main()
