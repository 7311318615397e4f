"""The Olist directory's full check: the 9 Kaggle CSVs readable, UTF-8, every column, every
record counted, every byte hashed (`check_olist_dir`); landing them is
tasks/sources/olist/ingest.py's.

Standard library, numpy and the Olist contract only, no Prefect: `python -m flows.*` runs it in
a child process while the parent imports the pipeline (tasks/sources/olist/precheck.py).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from blocks.errors import InvalidSourceData
from tasks.sources.olist.contract import OLIST_FILES, dataset_name
from tasks.sources.olist.csv_records import BOM, split_records
from tasks.sources.olist.layout import present_files

log = logging.getLogger("tasks.sources.olist.ingest")  # where these warnings always went
COMPLETE_MARKER = "_COMPLETE"  # a generated set's last file (ingest.synthetic_olist_dir)
_QUOTE = ord('"')
# Files are read in chunks and their records counted in pieces of these sizes, so memory
# stays bounded at any scale. Pieces of one chunk: the 10x set's check, two files at a time,
# took 1.4 s and peaked at 310 MiB; with 64 MiB pieces 2.0 s and 960 MiB (the numpy
# positions of a piece's quotes and line feeds are 8 bytes each).
_CHUNK = 8 * 1024 * 1024
_PIECE = _CHUNK
# Files checked at once: the check's numpy scans and its sha256 release the GIL, so two files
# use both cores of a small machine (the 10x set's nine files: 2.75 s alone, 1.4 s). What
# holds the GIL is kept off the per-chunk path: no line count, quotes counted by numpy, one
# copy per piece (1.23 -> 0.78 s).
_CHECK_THREADS = 2


@dataclass(frozen=True)
class OlistFile:
    """One checked Olist CSV, ready to land."""

    name: str
    path: Path
    dataset: str
    rows: int | None
    rows_note: str | None = None  # set when `rows` is an estimate (a quote breaks the file)
    # (sha256 hex, bytes) of the file as the check read it; the landing's copy must match.
    sha256: tuple[str, int] | None = None


@dataclass(frozen=True)
class _Scan:
    """One streaming pass over a file (`_scan`)."""

    bad_line: int | None  # 1-based line of the first byte that is not UTF-8
    count: int | None  # records, when every piece's quoting is sound
    sha256: tuple[str, int] | None  # (hex, bytes), when the whole file was read


def check_olist_dir(directory: Path | str) -> list[OlistFile]:
    """Check that `directory` holds the 9 Olist CSVs, readable, UTF-8, with every column.

    Raises `InvalidSourceData` listing every problem found (file and columns named), so one
    run tells the user everything to fix. Extra files are ignored with a warning.
    """
    directory = Path(directory)
    present = present_files(directory)
    for extra in sorted(present - set(OLIST_FILES) - {COMPLETE_MARKER}):
        log.warning("Ignoring %s in %s: it is not one of the 9 Olist files.", extra, directory)
    problems: list[str] = []
    checked: list[OlistFile] = []
    found = sorted(  # the largest first, so the two threads finish together
        (name for name in OLIST_FILES if name in present),
        key=lambda name: -(directory / name).stat().st_size,
    )
    with ThreadPoolExecutor(_CHECK_THREADS, thread_name_prefix="olist-check") as pool:
        scans = {n: pool.submit(_file_problem, directory / n, OLIST_FILES[n]) for n in found}
    for name in OLIST_FILES:
        if name not in present:
            problems.append(f"{name}: missing from {directory}")
            continue
        path = directory / name
        problem, scan = scans[name].result()
        if problem:
            problems.append(f"{name}: {problem}")
            continue
        rows, note = (scan.count, None) if scan.count is not None else _count_rows(path)
        checked.append(OlistFile(name, path, dataset_name(name), rows, note, scan.sha256))
    if problems:
        raise InvalidSourceData(
            f"The Olist files in {directory} cannot be ingested:\n  - "
            + "\n  - ".join(problems)
            + "\nFix or replace these files (the expected layout is in docs/data-dictionary.md)."
        )
    return checked


def _file_problem(path: Path, expected: tuple[str, ...]) -> tuple[str | None, _Scan]:
    """What is wrong with the file (None when nothing), and its scan: the record count when
    one streaming pass could establish it (else `_count_rows` reads the whole file)."""
    if path.stat().st_size == 0:
        return "the file is empty (0 bytes); expected a header line and rows", _Scan(None, 0, None)
    scan = _scan(path)
    if scan.bad_line is not None:
        return f"not valid UTF-8 at line {scan.bad_line}; re-export the file as UTF-8", scan
    with open(path, "rb") as handle:
        if handle.read(len(BOM)) == BOM:
            log.warning("%s starts with a UTF-8 byte order mark (BOM): ignored.", path.name)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle), [])
        has_rows = handle.readline().strip() != ""
    missing = [column for column in expected if column not in header]
    if missing:
        return f"header lacks column(s) {', '.join(missing)} (found: {', '.join(header)})", scan
    if not has_rows:
        return "the file has a header but no rows", scan
    return None, scan


def _scan(path: Path) -> _Scan:
    """One pass over the file: the 1-based line of the first byte that is not UTF-8 (None
    when clean), the record count when every piece's quoting is sound (else None), and the
    file's sha256 and size (bronze lands the file against them, `land_olist_file`).

    Pieces of about `_PIECE` bytes end on a record boundary (a line feed after an even
    number of quotes), and each piece after the first is split with the header in front,
    so the count equals `split_records` over the whole file, in bounded memory."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    digest, total = hashlib.sha256(), 0
    count, header = 0, None
    buffered: list[bytes] = []
    size = 0
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(_CHUNK)
            try:
                # ASCII is UTF-8: such a chunk needs no decoding unless a character began
                # in the chunk before (the 10x set: 54 of 92 chunks; 0.1 CPU-s holding the GIL)
                if not chunk.isascii() or decoder.getstate()[0]:
                    decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                # Lines are counted only now, on this rare path: a count of every chunk's
                # line feeds held the GIL from the other file's check (10x: 0.23 s).
                return _Scan(_line_at(path, total + max(exc.start, 0)), None, None)
            digest.update(chunk)
            total += len(chunk)
            if count is None:
                if not chunk:
                    return _Scan(None, None, (digest.hexdigest(), total))
                continue
            buffered.append(chunk)
            size += len(chunk)
            if chunk and size < _PIECE:
                continue
            # The header goes in front in the same copy that joins the buffered bytes.
            start = len(header or b"")
            data = b"".join([header or b"", *buffered])
            cut = _last_boundary(data, start) if chunk else len(data)
            buffered, size = [data[cut:]], len(data) - cut
            if cut > start:
                piece = data[:cut] if cut < len(data) else data
                records = split_records(piece, path.name)
                if not records.reliable:
                    count = None  # the whole-file split names the break
                else:
                    if header is None:
                        header = piece[len(BOM) if records.bom else 0 : records.header_end]
                    count += records.count
            if not chunk:
                return _Scan(None, count, (digest.hexdigest(), total))


def _line_at(path: Path, offset: int) -> int:
    """The 1-based line of the byte at `offset` in the file (or of its end, past it)."""
    lines, read = 1, 0
    with open(path, "rb") as handle:
        while read < offset and (chunk := handle.read(min(_CHUNK, offset - read))):
            lines += chunk.count(b"\n")
            read += len(chunk)
    return lines


def _last_boundary(data: bytes, start: int = 0) -> int:
    """Offset just past the last line feed of `data[start:]` preceded by an even number of
    quotes from `start` (`start` when there is none yet: a quoted field runs on past this
    chunk). The quotes are counted by numpy, which lets the other file's check run."""
    quotes_before = int(np.count_nonzero(np.frombuffer(data, np.uint8, offset=start) == _QUOTE))
    end = len(data)
    while (newline := data.rfind(b"\n", start, end)) >= 0:
        quotes_before -= data.count(b'"', newline, end)
        if quotes_before % 2 == 0:
            return newline + 1
        end = newline
    return start


def _count_rows(path: Path) -> tuple[int, str | None]:
    """Physical CSV records (quoted line breaks counted once), and a note when estimated.

    A file whose quoting breaks still lands (bronze keeps what was received); its count
    from the break on is one record per non-blank line, and the note says so. Silver then
    refuses the file naming the same line.
    """
    records = split_records(path.read_bytes(), path.name)
    if records.reliable:
        return records.count, None
    broken = records.broken
    note = (
        f"estimated: the quoting breaks at line {broken.line} ({broken.detail}); the "
        f"{records.records_after_break:,} non-blank lines from there on count one record each"
    )
    from tasks.runlog import run_logger  # Prefect's: only on this rare path

    run_logger("tasks.sources.olist.ingest").warning(
        "%s line %s: %s. It lands in bronze as received; silver will refuse it until the "
        "quoting is fixed.",
        path.name,
        broken.line,
        broken.detail,
    )
    return records.count, note
