"""`cofre olist`: the Olist e-commerce dataset."""

from __future__ import annotations

import time
from pathlib import Path

import typer

olist_app = typer.Typer(help="The Olist e-commerce dataset.", no_args_is_help=True)


@olist_app.command("synth")
def olist_synth(
    out: Path = typer.Option(..., "--out", help="Directory to write the 9 CSVs into."),
    orders: int = typer.Option(99_441, "--orders", min=1, help="Number of orders."),
    seed: int = typer.Option(42, "--seed", help="Random seed; same seed, same bytes."),
) -> None:
    """Write a synthetic, Olist-shaped dataset (the 9 CSVs with the real headers)."""
    from flows.preflight import check_creatable

    check_creatable(out, "output directory")
    try:  # before the generator's imports (polars): a bad --out costs no second
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot_write(out, exc) from None
    from tasks.sources.olist.synthetic import generate_olist

    started = time.perf_counter()
    try:
        files = generate_olist(out, orders=orders, seed=seed)
    except OSError as exc:  # a full disk, a read-only mount: what the checks above cannot see
        raise _cannot_write(out, exc) from None
    elapsed = time.perf_counter() - started
    for path in sorted(files.values()):
        typer.echo(f"{path}  ({path.stat().st_size:,} bytes)")
    typer.echo(f"Synthetic Olist set: {orders:,} orders, seed {seed}, {elapsed:.1f} s.")


def _cannot_write(out: Path, exc: OSError) -> Exception:
    from blocks.errors import ConfigurationError

    return ConfigurationError(
        f"Cannot write the synthetic Olist set to {out}: {exc.strerror or exc}. Pass --out "
        "a directory you can write to."
    )
