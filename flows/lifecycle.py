"""Lifecycle stage: move bronze objects older than N days to cold storage (verified, audited).

python -m flows.lifecycle --days 30 --dry-run
"""

from __future__ import annotations

import argparse

from prefect import flow

from blocks.lake import Lake
from flows.options import PipelineOptions
from flows.run_frame import cofre_run, run_cli
from tasks.lifecycle.move import install_s3_lifecycle_rules
from tasks.lifecycle.tasks import move_old_bronze


@flow(name="lifecycle", log_prints=True)
@cofre_run
def lifecycle(
    days: int = 30,
    dry_run: bool = False,
    lake: str | None = None,
    install_s3_rules: bool = False,
) -> dict:
    """Move (or list, with dry_run) bronze objects older than `days` days to cold."""
    target = Lake.from_settings(PipelineOptions(lake=lake).settings())
    if install_s3_rules:
        rules = install_s3_lifecycle_rules(target, days)
        print(f"Installed native lifecycle rule(s) on the bronze bucket: {rules['Rules']}")
    report = move_old_bronze(target, days, dry_run=dry_run)
    if dry_run:
        print(f"Would move {len(report.would_move)} object(s) older than {days} days:")
        for line in report.would_move:
            print(f"  {line}")
    else:
        print(
            f"Moved {len(report.moved)} object(s), {report.bytes_moved:,} bytes, to cold; "
            f"{report.kept} stay in bronze."
        )
    return {"moved": report.moved, "would_move": report.would_move, "kept": report.kept}


def _lifecycle_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, default=30, help="age threshold (default 30)")
    parser.add_argument("--dry-run", action="store_true", help="list what would move")
    parser.add_argument(
        "--install-s3-rules",
        action="store_true",
        help="also install a native S3 lifecycle rule on the bronze bucket",
    )


def main(argv: list[str] | None = None) -> None:
    run_cli(lifecycle, "lifecycle", argv, description=__doc__, extra_arguments=_lifecycle_arguments)


if __name__ == "__main__":
    main()
