"""`cofre config`: the sealed CofreConfig block. A `CofreError` is reported by the root group."""

from __future__ import annotations

import typer

config_app = typer.Typer(
    help="The sealed CofreConfig block (COFRE_CONFIG_BLOCK).", no_args_is_help=True
)


@config_app.callback()
def _needs_the_prefect_api() -> None:
    """Blocks live in Prefect: a configured API that does not answer is said in one line."""
    from flows.preflight import check_prefect_api

    check_prefect_api()


@config_app.command("set")
def config_set(
    name: str = typer.Argument(..., help="Config block name (what COFRE_CONFIG_BLOCK names)"),
    values: list[str] = typer.Option(
        [],
        "--set",
        help="field=value; an empty value clears the field; lake_buckets is JSON; "
        "olist_roots is a comma-separated list of absolute directories",
    ),
    replace: bool = typer.Option(
        False, "--replace", help="Save only these values (do not merge onto the saved ones)."
    ),
) -> None:
    """Seal and save a CofreConfig block. Secret-shaped values are refused."""
    from flows.config_commands import save_config

    config = save_config(name, values, replace=replace)
    typer.echo(f"Saved {config.label} (sealed). Select it with COFRE_CONFIG_BLOCK={name}.")


@config_app.command("show")
def config_show(name: str = typer.Argument(..., help="Config block name")) -> None:
    """Show a config's values and whether its seal verifies (no secrets live here)."""
    from flows.config_commands import describe_config

    values, state = describe_config(name)
    _echo_values(values)
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
    from flows.config_commands import describe_config, reseal_config

    values, state = describe_config(name)
    if state is None:
        typer.echo(f"cofre-config/{name} is already sealed; nothing to do.")
        return
    typer.echo(f"cofre-config/{name}: seal {state}. Values it will be sealed with:")
    _echo_values(values)
    if not yes and not typer.confirm("Are these values yours and correct?", default=False):
        typer.echo("Not resealed.")
        raise typer.Exit(1)
    reseal_config(name)
    typer.echo(f"Resealed cofre-config/{name}.")


def _echo_values(values: dict) -> None:
    for field, value in values.items():
        typer.echo(f"  {field} = {value!r}")
