"""`cofre automations`: Cofre's alerts as Prefect automations (blocks/runtime/alerts.py).

    cofre automations install --webhook-url https://hooks.example.com/T0KEN
    cofre automations install --block slack-webhook/ops
    cofre automations list

A `CofreError` is reported by the root group (flows/cli.py). The webhook URL may hold a token:
it is never printed, and `COFRE_ALERT_WEBHOOK_URL` keeps it out of the shell history.
"""

from __future__ import annotations

import typer

automations_app = typer.Typer(
    help="Alerts: Prefect automations for failed gates, incidents, failed runs.",
    no_args_is_help=True,
)


@automations_app.command("install")
def automations_install(
    webhook_url: str | None = typer.Option(
        None,
        "--webhook-url",
        envvar="COFRE_ALERT_WEBHOOK_URL",
        show_envvar=True,
        show_default=False,
        help="Save a Custom Webhook block posting JSON {subject, body} to this URL (kept as "
        "a secret value of the block) and notify through it.",
    ),
    block: str | None = typer.Option(
        None,
        "--block",
        help="Notify through a saved notification block instead: <type-slug>/<name> "
        "(slack-webhook/ops, email/oncall, ...); a bare name is a custom-webhook block.",
    ),
    block_name: str = typer.Option(
        "cofre-alerts", "--block-name", help="Name of the block --webhook-url saves."
    ),
) -> None:
    """Create or update Cofre's automations (by name: installing again updates them)."""
    from blocks.errors import ConfigurationError
    from blocks.runtime import alerts

    if (webhook_url is None) == (block is None):
        raise ConfigurationError(
            "Pass exactly one of --webhook-url URL (or COFRE_ALERT_WEBHOOK_URL) and --block "
            "<type-slug>/<name>."
        )
    server = alerts.require_server()
    if webhook_url is not None:
        block_id = alerts.save_webhook_block(webhook_url, block_name)
        used = f"{alerts.WEBHOOK_BLOCK_TYPE}/{block_name} (saved; its URL is a secret value)"
    else:
        block_id = alerts.notification_block_id(block)
        used = block
    for name, what in alerts.install_automations(block_id):
        typer.echo(f"{what:>7}  {name}")
    typer.echo(f"Automations on {server} notify through {used}.")


@automations_app.command("list")
def automations_list() -> None:
    """Cofre's automations on the server: enabled or not, what fires them, what they send."""
    from blocks.runtime import alerts

    alerts.require_server()
    found = alerts.cofre_automations()
    if not found:
        typer.echo("No Cofre automations. Install them: cofre automations install --help")
        return
    for automation in found:
        state = "enabled " if automation.enabled else "disabled"
        expects = ", ".join(sorted(getattr(automation.trigger, "expect", ()) or ()))
        typer.echo(f"{state}  {automation.name:<28}  on {expects}")


@automations_app.command("remove")
def automations_remove() -> None:
    """Delete Cofre's automations (the notification block is kept)."""
    from blocks.runtime import alerts

    alerts.require_server()
    removed = alerts.remove_automations()
    typer.echo(f"Removed {len(removed)} automation(s): {', '.join(removed) or 'none'}.")
