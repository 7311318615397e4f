"""Lifecycle stage: move bronze objects older than N days to cold storage (verified, audited).

python -m flows.lifecycle --days 30 --dry-run
"""

from __future__ import annotations

if __name__ == "__main__":  # flags, settings, paths, URLs checked before Prefect is imported
    from flows.stage_cli import run_stage_cli

    run_stage_cli("lifecycle", __doc__)  # imports flows.lifecycle, runs its flow, exits


from prefect import flow

from flows.run_frame import cofre_run, current_frame
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
    target = current_frame().lake  # opened once, by the run frame
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
