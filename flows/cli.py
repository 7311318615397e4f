"""`cofre`: the operational command line (typer).

cofre olist synth --orders 2000 --seed 7 --out /tmp/olist
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

app = typer.Typer(help="Cofre's operational commands.", no_args_is_help=True)


def _print_version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        typer.echo(f"cofre {version('cofre')}")
        raise typer.Exit()


@app.callback()
def _cofre(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Cofre's operational commands."""


olist_app = typer.Typer(help="The Olist e-commerce dataset.", no_args_is_help=True)
app.add_typer(olist_app, name="olist")


@olist_app.command("synth")
def olist_synth(
    out: Path = typer.Option(..., "--out", help="Directory to write the 9 CSVs into."),
    orders: int = typer.Option(99_441, "--orders", min=1, help="Number of orders."),
    seed: int = typer.Option(42, "--seed", help="Random seed; same seed, same bytes."),
) -> None:
    """Write a synthetic, Olist-shaped dataset (the 9 CSVs with the real headers)."""
    from tasks.sources.olist.synthetic import generate_olist

    started = time.perf_counter()
    files = generate_olist(out, orders=orders, seed=seed)
    elapsed = time.perf_counter() - started
    for path in sorted(files.values()):
        typer.echo(f"{path}  ({path.stat().st_size:,} bytes)")
    typer.echo(f"Synthetic Olist set: {orders:,} orders, seed {seed}, {elapsed:.1f} s.")


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
    _anchor_key_change("keys init")


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
    _anchor_key_change("keys rotate")


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
    _anchor_key_change("keys retire")


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
        block = cls.encrypt(name=name, **collect_values(cls, values))  # bound and sealed
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


@secrets_app.command("verify")
def secrets_verify() -> None:
    """Check every saved block's seal and bindings; exit 1 naming each bad block."""
    from blocks.errors import CofreError
    from blocks.secrets_cli import verify_saved_blocks

    try:
        results = verify_saved_blocks()
    except CofreError as exc:
        _fail(exc)
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
    kind: str | None = typer.Option(None, "--kind", help="s3 | postgres | api-key | masking-key"),
    yes: bool = typer.Option(False, "--yes", help="Do not ask; you have checked the values."),
) -> None:
    """Seal a block after you confirm its values (the upgrade path for unsealed blocks)."""
    from blocks.errors import CofreError
    from blocks.keyring import load_keyring
    from blocks.secrets_cli import find_saved_block, public_values, reseal_block, seal_state

    try:
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
    except CofreError as exc:
        _fail(exc)
    extra = f"; bound {', '.join(rebound)} to it" if rebound else ""
    typer.echo(f"Resealed {block.label}{extra}.")


# -- audit ------------------------------------------------------------------------------
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(
    prefect: bool = typer.Option(
        True, "--prefect/--no-prefect", help="Also check the Prefect variable anchor."
    ),
) -> None:
    """Check the hash chain and the trail against every anchor; exit 1 naming what is wrong."""
    from blocks.audit_anchor import verify_anchored
    from blocks.errors import CofreError

    try:
        report = verify_anchored(prefect=prefect)
    except CofreError as exc:  # no keyring, or a corrupt one: one line, no traceback
        _fail(RuntimeError(f"cannot verify the audit trail: {exc}"))
    for note in report.unreached:
        typer.secho(f"warning: {note}", fg=typer.colors.YELLOW, err=True)
    chain = report.chain
    if not chain.ok:
        typer.secho(
            f"Audit trail BROKEN at seq {chain.first_bad_seq} (line {chain.first_bad_line}): "
            f"{chain.reason}.",
            fg=typer.colors.RED,
            err=True,
        )
    for problem in report.problems:
        typer.secho(f"Audit trail BROKEN: {problem}.", fg=typer.colors.RED, err=True)
    if not report.ok:
        typer.secho(
            "Treat this as a security incident; keep the files as evidence. `cofre audit "
            "restore` puts back the lake mirror (docs/operations.md, 'A broken audit trail').",
            err=True,
        )
        raise typer.Exit(1)
    anchors = ", ".join(f"{a.source} (seq {a.head.seq})" for a in report.anchors) or "none"
    typer.echo(f"Audit trail OK: {chain.records} record(s) verify. Anchors checked: {anchors}.")


@audit_app.command("restore")
def audit_restore(
    force: bool = typer.Option(
        False, "--force", help="Also replace a local trail that diverges (kept as evidence)."
    ),
) -> None:
    """Put the lake mirror (audit/audit.jsonl) back as the local trail, after checking it."""
    from blocks.audit_restore import restore_trail
    from blocks.errors import CofreError

    try:
        report = restore_trail(force=force)
    except CofreError as exc:
        _fail(exc)
    typer.echo(report.message)


@audit_app.command("anchor")
def audit_anchor(reason: str = typer.Option("operator", "--reason", help="Why, for the record.")):
    """Write the trail's head to the lake mirror and the Prefect server now."""
    from blocks.errors import CofreError

    try:
        head = _anchor(reason)
    except CofreError as exc:
        _fail(exc)
    typer.echo(f"Anchored the audit head: seq {head.seq}, hash {head.hash[:12]}….")


def _anchor(reason: str):
    from blocks.audit_anchor import anchor_audit_head
    from blocks.lake import Lake
    from blocks.settings import load_settings

    settings = load_settings()
    return anchor_audit_head(Lake.from_settings(settings), run_id=None, reason=reason)


def _anchor_key_change(reason: str) -> None:
    """After a key change: anchor, and only warn when that fails (the change is done)."""
    from blocks.errors import CofreError

    try:
        _anchor(reason)
    except (CofreError, OSError) as exc:
        typer.secho(f"warning: audit head not anchored: {exc}", fg=typer.colors.YELLOW, err=True)


# -- gold -------------------------------------------------------------------------------
gold_app = typer.Typer(help="Gold versions in the lake.", no_args_is_help=True)
app.add_typer(gold_app, name="gold")


@gold_app.command("versions")
def gold_versions(
    lake: str | None = typer.Option(None, "--lake", help="Lake URL (default: the settings')."),
) -> None:
    """List gold versions, newest first; `*` marks the current one."""
    from blocks.errors import CofreError
    from blocks.lake import Lake
    from blocks.settings import load_settings
    from tasks.gold.versions import KEEP_VERSIONS, list_versions

    try:
        target = Lake.from_settings(load_settings(lake_url=lake))
        rows = list_versions(target)
    except CofreError as exc:
        _fail(exc)
    if not rows:
        typer.echo(
            f"No gold versions in {target.url('gold')}. Run the gold stage: python -m flows.gold"
        )
        return
    typer.echo(f"Gold versions in {target.url('gold')} (the last {KEEP_VERSIONS} are kept):")
    for row in rows:
        mark = "*" if row["state"] == "current" else " "
        typer.echo(
            f"{mark} {row['version']:<36}  {row['created'] or '-':<32}  {row['tables']:>2} tables"
            f"  {row['rows']:>12,} rows  {row['state']}"
        )


# -- config -----------------------------------------------------------------------------
config_app = typer.Typer(
    help="The sealed CofreConfig block (COFRE_CONFIG_BLOCK).", no_args_is_help=True
)
app.add_typer(config_app, name="config")


@config_app.command("set")
def config_set(
    name: str = typer.Argument(..., help="Config block name (what COFRE_CONFIG_BLOCK names)"),
    values: list[str] = typer.Option(
        [], "--set", help="field=value; an empty value clears the field; lake_buckets is JSON"
    ),
    replace: bool = typer.Option(
        False, "--replace", help="Save only these values (do not merge onto the saved ones)."
    ),
) -> None:
    """Seal and save a CofreConfig block. Secret-shaped values are refused."""
    from blocks.config_cli import save_config
    from blocks.errors import CofreError

    try:
        config = save_config(name, values, replace=replace)
    except CofreError as exc:
        _fail(exc)
    typer.echo(f"Saved {config.label} (sealed). Select it with COFRE_CONFIG_BLOCK={name}.")


@config_app.command("show")
def config_show(name: str = typer.Argument(..., help="Config block name")) -> None:
    """Show a config's values and whether its seal verifies (no secrets live here)."""
    from blocks.config_cli import describe_config
    from blocks.errors import CofreError

    try:
        values, state = describe_config(name)
    except CofreError as exc:
        _fail(exc)
    for field, value in values.items():
        typer.echo(f"  {field} = {value!r}")
    if state is None:
        typer.echo(f"cofre-config/{name}: seal OK.")
    else:
        typer.secho(
            f"cofre-config/{name}: seal {state}; Cofre refuses it. Check the values above, "
            f"then `cofre config reseal {name}` or `cofre config set {name} --replace ...`.",
            fg=typer.colors.RED,
            err=True,
        )


@config_app.command("reseal")
def config_reseal(
    name: str = typer.Argument(..., help="Config block name"),
    yes: bool = typer.Option(False, "--yes", help="Do not ask; you have checked the values."),
) -> None:
    """Seal a config after you confirm its values (the upgrade path for unsealed configs)."""
    from blocks.config_cli import describe_config, reseal_config
    from blocks.errors import CofreError

    try:
        values, state = describe_config(name)
        if state is None:
            typer.echo(f"cofre-config/{name} is already sealed; nothing to do.")
            return
        typer.echo(f"cofre-config/{name}: seal {state}. Values it will be sealed with:")
        for field, value in values.items():
            typer.echo(f"  {field} = {value!r}")
        if not yes and not typer.confirm("Are these values yours and correct?", default=False):
            typer.echo("Not resealed.")
            raise typer.Exit(1)
        reseal_config(name)
    except CofreError as exc:
        _fail(exc)
    typer.echo(f"Resealed cofre-config/{name}.")


if __name__ == "__main__":  # last, after every command group is registered
    app()
