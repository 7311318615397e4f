"""`cofre keys`: the local Fernet keyring. A `CofreError` is reported by the root group."""

from __future__ import annotations

import typer

from flows.cli_audit import anchor_after_key_change

keys_app = typer.Typer(help="The local Fernet keyring.", no_args_is_help=True)


@keys_app.command("init")
def keys_init(
    force: bool = typer.Option(
        False, "--force", help="on a home that has a keyring: rotate to a new primary key"
    ),
) -> None:
    """Create the keyring file (mode 0600) with a Fernet key and an audit key. A home that
    has one keeps it (exit 0); `--force` rotates, as `cofre keys rotate`: never overwrites."""
    from blocks.lake.home_lock import private_home
    from blocks.secrets.keyring import init_keyring_file, load_keyring
    from blocks.settings import load_settings

    private_home()  # owner-only from the first command: the home, the lake mirror, the trail
    settings = load_settings()
    path = settings.resolved_keyring_file
    if path.exists():
        if force:
            _rotate()
            return
        primary = load_keyring(settings).primary_id
        typer.echo(
            f"{path} already exists (primary key id {primary}): this home has its keyring; "
            "nothing changed. To add a new primary key, run `cofre keys init --force` (or "
            "`cofre keys rotate`): it rotates, never overwrites."
        )
        return
    keyring = init_keyring_file(path)
    typer.echo(f"Created {path} (mode 0600), primary key id {keyring.primary_id}.")
    typer.echo("Back this file up somewhere safe: without it no Cofre secret can be decrypted.")
    anchor_after_key_change("keys init")


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new Fernet key (for COFRE_FERNET_KEYS in a secret manager)."""
    from blocks.secrets.keyring import new_fernet_key

    typer.echo(new_fernet_key())


@keys_app.command("list")
def keys_list() -> None:
    """Show key ids (public fingerprints), primary first. Never shows key material."""
    from blocks.secrets.keyring import load_keyring

    keyring = load_keyring()
    typer.echo(f"keyring: {keyring.source}")
    for position, kid in enumerate(keyring.key_ids):
        typer.echo(f"  {kid}  {'primary' if position == 0 else 'decrypt-only'}")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Add a new primary key and re-encrypt every saved Cofre block under it."""
    _rotate()


def _rotate() -> None:
    from blocks.secrets.rotation import rotate_keys

    report = rotate_keys()
    verb = "Resumed rotation to" if report.resumed else "Rotated to"
    typer.echo(f"{verb} primary key {report.primary_id}.")
    for label in report.reencrypted:
        typer.echo(f"  re-encrypted {label}")
    for label in report.already_current:
        typer.echo(f"  already current {label}")
    anchor_after_key_change("keys rotate")


@keys_app.command("reencrypt")
def keys_reencrypt() -> None:
    """Re-encrypt every saved Cofre block under the current primary key."""
    from blocks.secrets.keyring import load_keyring
    from blocks.secrets.rotation import reencrypt_all

    report = reencrypt_all(load_keyring())
    typer.echo(f"Primary key {report.primary_id}: re-encrypted {len(report.reencrypted)} block(s).")
    for label in report.reencrypted:
        typer.echo(f"  re-encrypted {label}")


@keys_app.command("retire")
def keys_retire() -> None:
    """Remove old keys, after checking no saved block still needs them."""
    from blocks.secrets.rotation import retire_keys

    retired = retire_keys()
    typer.echo(f"Retired {len(retired)} key(s): {', '.join(retired) or 'none'}.")
    anchor_after_key_change("keys retire")
