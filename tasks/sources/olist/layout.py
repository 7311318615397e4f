"""The Olist directory's layout, checked before a pipeline starts: the 9 files are there,
none empty, each header with every column. Standard library only, so `python -m flows.*`
checks it in a second, before Prefect or polars are imported (flows/preflight.py); the
ingestion's full check of every byte is `check_olist_dir` (tasks/sources/olist/check.py)."""

from __future__ import annotations

import csv
from pathlib import Path

from blocks.errors import InvalidSourceData
from tasks.sources.olist.contract import OLIST_FILES

__all__ = ["check_olist_layout", "present_files"]


def check_olist_layout(directory: Path | str) -> None:
    """The quick part of `check_olist_dir`, run before a pipeline starts: the directory holds
    the 9 files, none empty, each header with every column. Raises `InvalidSourceData`."""
    directory = Path(directory)
    present = present_files(directory)
    problems = []
    for name, expected in OLIST_FILES.items():
        path = directory / name
        if name not in present:
            problems.append(f"{name}: missing from {directory}")
        elif path.stat().st_size == 0:
            problems.append(f"{name}: the file is empty (0 bytes)")
        else:
            with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
                header = next(csv.reader(handle), [])
            if missing := [column for column in expected if column not in header]:
                problems.append(f"{name}: header lacks column(s) {', '.join(missing)}")
    if problems:
        raise InvalidSourceData(
            f"The Olist files in {directory} cannot be ingested: " + "; ".join(problems) + ". "
            "Fix or replace these files (the expected layout is in docs/data-dictionary.md)."
        )


def present_files(directory: Path) -> set[str]:
    if not directory.is_dir():
        raise InvalidSourceData(
            f"Olist directory {directory} does not exist. Download the 9 CSVs of Kaggle's "
            "olistbr/brazilian-ecommerce into it, or run without --olist-dir for synthetic data."
        )
    return {p.name for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")}
