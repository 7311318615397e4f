"""`cofre docs`: the data dictionary, docs/data-dictionary.md, written from the declarations.

`cofre docs` rewrites it from `validation/catalog_silver.py`, `validation/catalog_gold.py`,
the Olist contract and `docs/templates/data-dictionary.md` (tasks/data_dictionary.py);
`cofre docs --check` changes nothing and exits 1 naming the sections that are stale.
"""

from __future__ import annotations

import typer


def docs_command(
    check: bool = typer.Option(
        False, "--check", help="Write nothing; exit 1 naming the stale sections, if any."
    ),
) -> None:
    """Write docs/data-dictionary.md from the declared silver datasets and gold tables."""
    from tasks.data_dictionary import DICTIONARY, render, stale_sections

    expected = render()
    current = DICTIONARY.read_text(encoding="utf-8") if DICTIONARY.exists() else ""
    if current == expected:
        typer.echo(f"{DICTIONARY.name} is up to date.")
        return
    if check:
        stale = stale_sections(current, expected)
        typer.echo(
            f"{DICTIONARY} is stale in: {'; '.join(stale)}. Run `cofre docs` and commit it.",
            err=True,
        )
        raise typer.Exit(1)
    DICTIONARY.write_text(expected, encoding="utf-8")
    typer.echo(f"Wrote {DICTIONARY}.")
