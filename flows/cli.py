"""`cofre`: the operational command line (typer).

cofre olist synth --orders 2000 --seed 7 --out /tmp/olist
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

app = typer.Typer(help="Cofre's operational commands.", no_args_is_help=True)
olist_app = typer.Typer(help="The Olist e-commerce dataset.", no_args_is_help=True)
app.add_typer(olist_app, name="olist")


@olist_app.command("synth")
def olist_synth(
    out: Path = typer.Option(..., "--out", help="Directory to write the 9 CSVs into."),
    orders: int = typer.Option(99_441, "--orders", min=1, help="Number of orders."),
    seed: int = typer.Option(42, "--seed", help="Random seed; same seed, same bytes."),
) -> None:
    """Write a synthetic, Olist-shaped dataset (the 9 CSVs with the real headers)."""
    from tasks.olist_synthetic import generate_olist

    started = time.perf_counter()
    files = generate_olist(out, orders=orders, seed=seed)
    elapsed = time.perf_counter() - started
    for path in sorted(files.values()):
        typer.echo(f"{path}  ({path.stat().st_size:,} bytes)")
    typer.echo(f"Synthetic Olist set: {orders:,} orders, seed {seed}, {elapsed:.1f} s.")


if __name__ == "__main__":
    app()


# -- keys -------------------------------------------------------------------------------
keys_app = typer.Typer(help="The local Fernet keyring.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@keys_app.command("init")
def keys_init() -> None:
    """Create the keyring file (mode 0600) with a Fernet key and an audit key."""
    from blocks.errors import CofreError
    from blocks.keyring import init_keyring_file
    from blocks.settings import load_settings

    path = load_settings().resolved_keyring_file
    try:
        keyring = init_keyring_file(path)
    except CofreError as exc:
        _fail(exc)
    typer.echo(f"Created {path} (mode 0600), primary key id {keyring.primary_id}.")
    typer.echo("Back this file up somewhere safe: without it no Cofre secret can be decrypted.")


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new Fernet key (for COFRE_FERNET_KEYS in a secret manager)."""
    from blocks.keyring import new_fernet_key

    typer.echo(new_fernet_key())


@keys_app.command("list")
def keys_list() -> None:
    """Show key ids (public fingerprints), primary first. Never shows key material."""
    from blocks.errors import CofreError
    from blocks.keyring import load_keyring

    try:
        keyring = load_keyring()
    except CofreError as exc:
        _fail(exc)
    typer.echo(f"keyring: {keyring.source}")
    for position, kid in enumerate(keyring.key_ids):
        typer.echo(f"  {kid}  {'primary' if position == 0 else 'decrypt-only'}")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Add a new primary key and re-encrypt every saved Cofre block under it."""
    from blocks.errors import CofreError
    from blocks.rotation import rotate_keys

    try:
        report = rotate_keys()
    except CofreError as exc:
        _fail(exc)
    verb = "Resumed rotation to" if report.resumed else "Rotated to"
    typer.echo(f"{verb} primary key {report.primary_id}.")
    for label in report.reencrypted:
        typer.echo(f"  re-encrypted {label}")
    for label in report.already_current:
        typer.echo(f"  already current {label}")


@keys_app.command("reencrypt")
def keys_reencrypt() -> None:
    """Re-encrypt every saved Cofre block under the current primary key."""
    from blocks.errors import CofreError
    from blocks.keyring import load_keyring
    from blocks.rotation import reencrypt_all

    try:
        report = reencrypt_all(load_keyring())
    except CofreError as exc:
        _fail(exc)
    typer.echo(f"Primary key {report.primary_id}: re-encrypted {len(report.reencrypted)} block(s).")
    for label in report.reencrypted:
        typer.echo(f"  re-encrypted {label}")


@keys_app.command("retire")
def keys_retire() -> None:
    """Remove old keys, after checking no saved block still needs them."""
    from blocks.errors import CofreError
    from blocks.rotation import retire_keys

    try:
        retired = retire_keys()
    except CofreError as exc:
        _fail(exc)
    typer.echo(f"Retired {len(retired)} key(s): {', '.join(retired) or 'none'}.")


# -- secrets ----------------------------------------------------------------------------
secrets_app = typer.Typer(help="Encrypted credential blocks.", no_args_is_help=True)
app.add_typer(secrets_app, name="secrets")


@secrets_app.command("set")
def secrets_set(
    kind: str = typer.Argument(..., help="s3 | postgres | api-key | masking-key"),
    name: str = typer.Argument(..., help="Block name, e.g. warehouse"),
    values: list[str] = typer.Option(
        [], "--set", help="field=value (prefer env or prompt for secret fields)"
    ),
) -> None:
    """Encrypt and save a credentials block.

    Secret fields come from --set, then COFRE_SECRET_<FIELD> in the environment, then a
    prompt that does not echo.
    """
    from blocks.credentials import COFRE_BLOCKS
    from blocks.errors import CofreError
    from blocks.secrets_cli import collect_values

    if kind not in COFRE_BLOCKS:
        _fail(ValueError(f"unknown kind {kind!r}; choose one of {', '.join(COFRE_BLOCKS)}"))
    cls = COFRE_BLOCKS[kind]
    try:
        block = cls.encrypt(**collect_values(cls, values))
        block.save(name, overwrite=True)
    except CofreError as exc:
        _fail(exc)
    _audit_secret_write(block.label)
    typer.echo(f"Saved {block.label} (encrypted with key {block.key_id}).")


def _audit_secret_write(label: str) -> None:
    from blocks import audit

    audit.record(audit.Action.SECRET_WRITE, label, compliance="LGPD_OK")


@secrets_app.command("list")
def secrets_list() -> None:
    """Names, kinds, key ids and dates of saved blocks. Never values."""
    from blocks.secrets_cli import describe_saved_blocks

    rows = describe_saved_blocks()
    if not rows:
        typer.echo("No Cofre secrets saved. Create one with `cofre secrets set KIND NAME`.")
    for row in rows:
        typer.echo(f"{row['kind']:<12} {row['name']:<24} key {row['key_id']:<12} {row['updated']}")


# -- audit ------------------------------------------------------------------------------
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the whole hash chain; exit 1 and name the first bad record on failure."""
    from blocks import audit

    report = audit.verify()
    if report.ok:
        typer.echo(f"Audit trail OK: {report.records} record(s) verify.")
        return
    typer.secho(
        f"Audit trail BROKEN at seq {report.first_bad_seq} (line {report.first_bad_line}): "
        f"{report.reason}. Restore the trail from backup and treat this as a security incident.",
        fg=typer.colors.RED,
        err=True,
    )
    raise typer.Exit(1)
