"""`cofre audit`: the tamper-evident audit trail, and the anchor written after key changes.

A `CofreError` is reported by the root group (flows/cli.py)."""

from __future__ import annotations

from typing import Any

import typer

audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(
    prefect: bool = typer.Option(
        True, "--prefect/--no-prefect", help="Also check the Prefect variable anchor."
    ),
) -> None:
    """Check the hash chain, the trail against every anchor and the lake mirror's copy; exit 1
    naming what is wrong. A forged anchor or a damaged mirror is recorded as an incident."""
    from blocks.audit.anchor import verify_anchored
    from blocks.audit.suspects import record_suspects
    from blocks.errors import CofreError
    from blocks.lake.home_lock import private_home
    from blocks.settings import load_settings

    private_home()  # an incident may be the first record: its file is private from the start
    settings = load_settings()
    try:
        report = verify_anchored(settings, prefect=prefect)
    except CofreError as exc:  # no keyring, or a corrupt one: say what could not be checked
        raise type(exc)(f"cannot verify the audit trail: {exc}") from None
    for note in report.unreached:
        typer.secho(f"warning: {note}", fg=typer.colors.YELLOW, err=True)
    chain = report.chain
    if not chain.ok:
        _red(
            f"Audit trail BROKEN at seq {chain.first_bad_seq} (line {chain.first_bad_line}): "
            f"{chain.reason}."
        )
    for problem in report.problems:
        _red(f"Audit trail BROKEN: {problem}.")
    trail_ok = chain.ok and not report.problems
    if report.suspects:  # recorded only on a sound trail: a broken one is restored first
        lines = record_suspects(report.suspects, settings) if trail_ok else [
            f"{s.finding} (not recorded: the trail itself fails)" for s in report.suspects
        ]  # fmt: skip
        for suspect, line in zip(report.suspects, lines, strict=True):
            forged = suspect.event == "audit_anchor_forged"
            _red(f"{'Anchor FORGED' if forged else 'Lake mirror DAMAGED'}: {line}.")
    anchors = ", ".join(f"{a.source} (seq {a.head.seq})" for a in report.anchors) or "none"
    if not trail_ok:
        typer.secho(
            "Treat this as a security incident; keep the files as evidence. `cofre audit "
            "restore` puts back the lake mirror (docs/operations.md, 'A broken audit trail').",
            err=True,
        )
        raise typer.Exit(1)
    if report.suspects:
        typer.secho(
            f"The trail itself is intact: {chain.records} record(s) verify, against the "
            f"authentic anchors: {anchors}. Treat what is above as a security incident (who "
            "can write to the Prefect API or the lake?); the next run or `cofre audit anchor` "
            "writes genuine anchors over it (docs/operations.md, 'A broken audit trail').",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(f"Audit trail OK: {chain.records} record(s) verify. Anchors checked: {anchors}.")


def _red(line: str) -> None:
    typer.secho(line, fg=typer.colors.RED, err=True)


@audit_app.command("restore")
def audit_restore(
    force: bool = typer.Option(
        False, "--force", help="Also replace a local trail that diverges (kept as evidence)."
    ),
) -> None:
    """Put the lake mirror (audit/audit.jsonl) back as the local trail, after checking it."""
    from blocks.audit.restore import restore_trail
    from blocks.lake.home_lock import private_home

    private_home()
    typer.echo(restore_trail(force=force).message)


@audit_app.command("anchor")
def audit_anchor(reason: str = typer.Option("operator", "--reason", help="Why, for the record.")):
    """Write the trail's head to the lake mirror and the Prefect server now."""
    head = _anchor(reason)
    typer.echo(f"Anchored the audit head: seq {head.seq}, hash {head.hash[:12]}….")


def _anchor(reason: str) -> Any:
    from blocks.audit.anchor import anchor_audit_head
    from blocks.lake import Lake
    from blocks.lake.home_lock import private_home
    from blocks.settings import load_settings

    private_home()  # the lake mirror a first anchor creates is private like the rest of the home
    settings = load_settings()
    return anchor_audit_head(Lake.from_settings(settings), run_id=None, reason=reason)


def anchor_after_key_change(reason: str) -> None:
    """After a key change: anchor, and only warn when that fails (the change is done)."""
    from blocks.errors import CofreError

    try:
        _anchor(reason)
    except (CofreError, OSError) as exc:
        typer.secho(f"warning: audit head not anchored: {exc}", fg=typer.colors.YELLOW, err=True)
