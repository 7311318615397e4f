"""`cofre gold`: gold versions in the lake. A `CofreError` is reported by the root group."""

from __future__ import annotations

import typer

gold_app = typer.Typer(help="Gold versions in the lake.", no_args_is_help=True)


@gold_app.command("versions")
def gold_versions(
    lake: str | None = typer.Option(None, "--lake", help="Lake URL (default: the settings')."),
) -> None:
    """List gold versions, newest first; `*` marks the current one."""
    from blocks.lake import Lake
    from blocks.settings import load_settings
    from tasks.gold.versions import KEEP_VERSIONS, list_versions
    from validation.catalog import Layer

    target = Lake.from_settings(load_settings(lake_url=lake))
    rows = list_versions(target)
    if not rows:
        typer.echo(
            f"No gold versions in {target.url(Layer.GOLD)}. Run the gold stage: "
            "python -m flows.gold"
        )
        return
    typer.echo(f"Gold versions in {target.url(Layer.GOLD)} (the last {KEEP_VERSIONS} are kept):")
    for row in rows:
        mark = "*" if row["state"] == "current" else " "
        typer.echo(
            f"{mark} {row['version']:<36}  {row['created'] or '-':<32}  {row['tables']:>2} tables"
            f"  {row['rows']:>12,} rows  {row['state']}"
        )
