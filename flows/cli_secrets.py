"""`cofre secrets`: encrypted credential blocks. A `CofreError` is reported by the root group."""

from __future__ import annotations

import typer

secrets_app = typer.Typer(help="Encrypted credential blocks.", no_args_is_help=True)
KINDS_HELP = "s3 | postgres | api-key | masking-key"


@secrets_app.callback()
def _needs_the_prefect_api() -> None:
    """Blocks live in Prefect: a configured API that does not answer is said in one line."""
    from flows.preflight import check_prefect_api

    check_prefect_api()


@secrets_app.command("set")
def secrets_set(
    kind: str = typer.Argument(..., help=KINDS_HELP),
    name: str = typer.Argument(..., help="Block name, e.g. warehouse"),
    values: list[str] = typer.Option(
        [], "--set", help="field=value (prefer env or prompt for secret fields)"
    ),
) -> None:
    """Encrypt and save a credentials block.

    Secret fields come from --set, then COFRE_SECRET_<FIELD> in the environment, then a
    prompt that does not echo.
    """
    from blocks import audit
    from blocks.errors import ConfigurationError
    from blocks.secrets.credentials import COFRE_BLOCKS
    from flows.secrets_commands import collect_values

    if kind not in COFRE_BLOCKS:
        raise ConfigurationError(f"unknown kind {kind!r}; choose one of {', '.join(COFRE_BLOCKS)}")
    cls = COFRE_BLOCKS[kind]
    block = cls.encrypt(name=name, **collect_values(cls, values))  # bound and sealed
    block.save(name, overwrite=True)
    audit.record(audit.Action.SECRET_WRITE, block.label, compliance="LGPD_OK")
    typer.echo(f"Saved {block.label} (encrypted with key {block.key_id}).")


@secrets_app.command("list")
def secrets_list() -> None:
    """Names, kinds, key ids and dates of saved blocks. Never values."""
    from flows.secrets_commands import describe_saved_blocks

    rows = describe_saved_blocks()
    if not rows:
        typer.echo("No Cofre secrets saved. Create one with `cofre secrets set KIND NAME`.")
        return
    typer.echo(f"{'KIND':<12} {'NAME':<24} {'KEY ID':<12} UPDATED")
    for row in rows:
        typer.echo(f"{row['kind']:<12} {row['name']:<24} {row['key_id']:<12} {row['updated']}")


@secrets_app.command("verify")
def secrets_verify() -> None:
    """Check every saved block's seal and bindings; exit 1 naming each bad block."""
    from flows.secrets_commands import verify_saved_blocks

    results = verify_saved_blocks()
    bad = [(label, problem) for label, problem in results if problem]
    for label, problem in results:
        if not problem:
            typer.echo(f"sealed   {label}")
    for label, problem in bad:
        typer.secho(f"BROKEN   {label}: {problem}", fg=typer.colors.RED, err=True)
    if bad:
        typer.secho(
            f"{len(bad)} of {len(results)} block(s) fail verification (audited as "
            "SECURITY_INCIDENT).",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(f"All {len(results)} Cofre block(s) are sealed and bound.")


@secrets_app.command("reseal")
def secrets_reseal(
    name: str = typer.Argument(..., help="Block name, e.g. warehouse"),
    kind: str | None = typer.Option(None, "--kind", help=KINDS_HELP),
    yes: bool = typer.Option(False, "--yes", help="Do not ask; you have checked the values."),
) -> None:
    """Seal a block after you confirm its values (the upgrade path for unsealed blocks)."""
    from blocks.secrets.keyring import load_keyring
    from flows.secrets_commands import find_saved_block, public_values, reseal_block, seal_state

    keyring = load_keyring()
    block = find_saved_block(name, kind)
    state = seal_state(block, keyring)
    if state is None:
        typer.echo(f"{block.label} is already sealed; nothing to do.")
        return
    typer.echo(f"{block.label}: seal {state}. Values it will be sealed with:")
    for field, value in public_values(block).items():
        typer.echo(f"  {field} = {value!r}")
    if not yes and not typer.confirm("Are these values yours and correct?", default=False):
        typer.echo("Not resealed.")
        raise typer.Exit(1)
    rebound = reseal_block(block, keyring)
    extra = f"; bound {', '.join(rebound)} to it" if rebound else ""
    typer.echo(f"Resealed {block.label}{extra}.")
