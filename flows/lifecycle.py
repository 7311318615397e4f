"""Lifecycle stage: move bronze objects older than N days to cold storage (verified, audited).

python -m flows.lifecycle --days 30 --dry-run
"""

from __future__ import annotations

import argparse

from prefect import flow

from blocks.lake import Lake
from blocks.settings import load_settings
from flows.run_frame import cofre_run, prepare_cli_run
from tasks.lifecycle.move import install_s3_lifecycle_rules
from tasks.lifecycle.tasks import move_old_bronze
from tasks.runlog import exit_on_cofre_error


@flow(name="lifecycle", log_prints=True)
@cofre_run
def lifecycle(
    days: int = 30,
    dry_run: bool = False,
    lake: str | None = None,
    install_s3_rules: bool = False,
) -> dict:
    """Move (or list, with dry_run) bronze objects older than `days` days to cold."""
    target = Lake.from_settings(load_settings(lake_url=lake))
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m flows.lifecycle", description=__doc__)
    parser.add_argument("--days", type=int, default=30, help="age threshold (default 30)")
    parser.add_argument("--dry-run", action="store_true", help="list what would move")
    parser.add_argument("--lake", help="lake URL: a directory or s3://bucket[/prefix]")
    parser.add_argument(
        "--install-s3-rules",
        action="store_true",
        help="also install a native S3 lifecycle rule on the bronze bucket",
    )
    args = parser.parse_args(argv)
    with exit_on_cofre_error():
        prepare_cli_run(args)
        lifecycle(
            days=args.days,
            dry_run=args.dry_run,
            lake=args.lake,
            install_s3_rules=args.install_s3_rules,
        )


if __name__ == "__main__":
    main()
