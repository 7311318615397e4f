"""`cofre`: the operational command line (typer), one module per command group.

cofre olist synth --orders 2000 --seed 7 --out /tmp/olist

Every command runs inside one error wrapper (`CofreGroup.invoke`): a `CofreError` prints
`Cofre stopped: <type>: <message>` and exits 1, the same as `python -m flows.*`.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from blocks.env_settings import unknown_setting_warnings
from flows.cli_audit import audit_app
from flows.cli_automations import automations_app
from flows.cli_config import config_app
from flows.cli_docs import docs_command
from flows.cli_doctor import doctor_command
from flows.cli_exit import request_debug, stop_on_cofre_error
from flows.cli_gold import gold_app
from flows.cli_keys import keys_app
from flows.cli_olist import olist_app
from flows.cli_secrets import secrets_app
from flows.cli_ui import ui_command


class CofreGroup(TyperGroup):
    """The root command group: every sub-command is invoked under `stop_on_cofre_error`."""

    def invoke(self, ctx: Any) -> Any:
        with stop_on_cofre_error():
            return super().invoke(ctx)


app = typer.Typer(help="Cofre's operational commands.", no_args_is_help=True, cls=CofreGroup)


def cofre_version() -> str:
    """The installed distribution's version, else pyproject.toml's (a source checkout)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cofre")
    except PackageNotFoundError:
        import tomllib
        from pathlib import Path

        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        return tomllib.loads(pyproject.read_text())["project"]["version"]


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"cofre {cofre_version()}")
        raise typer.Exit()


@app.callback()
def _cofre(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
    debug: bool = typer.Option(
        False, "--debug", help="On failure, show the full traceback (COFRE_DEBUG=1)."
    ),
) -> None:
    """Cofre's operational commands."""
    if debug:
        request_debug()
    for warning in unknown_setting_warnings():  # a misspelt COFRE_* is otherwise ignored
        typer.echo(warning, err=True)


app.add_typer(olist_app, name="olist")
app.add_typer(keys_app, name="keys")
app.add_typer(secrets_app, name="secrets")
app.add_typer(audit_app, name="audit")
app.add_typer(gold_app, name="gold")
app.add_typer(config_app, name="config")
app.add_typer(automations_app, name="automations")
app.command("ui")(ui_command)
app.command("doctor")(doctor_command)
app.command("docs")(docs_command)


if __name__ == "__main__":  # last, after every command group is registered
    app()
