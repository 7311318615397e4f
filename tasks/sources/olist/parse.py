"""Olist bronze CSV -> typed polars frames, with every unparseable row accounted for.

`tasks.sources.olist.csv_records` first splits the bytes into records (RFC 4180 quoting,
start lines, field counts); records with the wrong number of fields become failure records and are
cut out, and pyarrow's CSV reader (multi-threaded, quoted line breaks allowed) parses the rest,
which must give exactly one row per remaining record. Values are read as text and cast
here: a value that does not cast (a malformed timestamp, a price of "abc") becomes a
failure record for its row. A record with a field over `MAX_FIELD_BYTES` is cut out the same
way (`csv_field_too_large`, naming its line and column): its boundaries are certain, and no
Olist value comes near that size.
"""

from __future__ import annotations

import io

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from blocks.errors import MalformedCsv
from tasks.runlog import run_logger
from tasks.sources.olist.contract import COLUMN_RENAMES, OLIST_FILES, source_file
from tasks.sources.olist.csv_records import CsvRecords, split_records
from validation.catalog import OLIST_DATASETS
from validation.catalog_silver import silver_types
from validation.gate import FAILURE_COLUMNS, ROW, empty_failures

LINE = "_line"  # 1-based physical line where a record starts (quarantine names it)

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
# The largest field silver accepts (the longest real Olist value is a review of ~200 bytes).
MAX_FIELD_BYTES = 1 << 20
# pyarrow's default block; a record must fit in one block (else "straddling object").
_BLOCK_BYTES = 1 << 20

# Silver column -> type, per dataset, as validation/catalog_silver.py declares them. Names are
# the source's, but the misspelled `lenght` (contract.COLUMN_RENAMES).
TYPES: dict[str, dict[str, str]] = {dataset: silver_types(dataset) for dataset in OLIST_DATASETS}


def read_text_frame(data: bytes, dataset: str) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """All columns as text plus `_row` (1-based record number) and `_line` (its first line).

    Returns (text, failures, lines): a record with the wrong number of fields becomes a
    `csv_field_count` failure; `lines` maps every record's `_row` to its `_line`, so that
    quarantined records name the line to fix. Parsed rows + failures = the file's records.
    Raises `MalformedCsv` naming the file and line when the quoting breaks (docs/
    data-dictionary.md, "Malformed CSV records"): no row is ever merged into a bad one.
    """
    file = source_file(dataset)
    columns = OLIST_FILES[file]
    records = split_records(data, file)
    records.raise_if_broken()
    if records.bom:
        run_logger(__name__).warning("%s starts with a UTF-8 byte order mark: ignored.", file)
    big, failures = _oversized_fields(data, records)  # cut out before pyarrow sees them
    block = _block_size(records, big)
    table, skipped = _parse(
        _without(data, records, big), columns, file, strict=False,
        multiline=records.multiline, block_size=block,
    )  # fmt: skip
    bad = big
    if skipped or table.num_rows != records.count - big.size:  # rare: find the records
        wrong, counts = records.bad_field_count()
        keep = ~np.isin(wrong, big)
        wrong, counts = wrong[keep], counts[keep]
        bad = np.union1d(big, wrong)
        failures = pl.concat([failures, _field_count_failures(data, records, wrong, counts)])
        table, _ = _parse(
            _without(data, records, bad), columns, file, strict=True,
            multiline=records.multiline, block_size=block,
        )  # fmt: skip
    good = np.delete(np.arange(records.starts.size), bad)
    if table.num_rows != good.size:  # the splitter and pyarrow disagree: never guess
        raise MalformedCsv(
            f"{file}: {table.num_rows:,} rows parsed where {good.size:,} records were "
            "counted; Cofre cannot account for every record. Re-export the file "
            "(RFC 4180 quoting) and re-run."
        )
    frame = pl.from_arrow(table).rename(lambda c: COLUMN_RENAMES.get(c, c))
    frame = frame.with_columns(
        pl.Series(ROW, good + 1, pl.Int64), pl.Series(LINE, records.lines[good], pl.Int64)
    ).select(ROW, LINE, pl.exclude(ROW, LINE))
    lines = pl.DataFrame(
        {ROW: np.arange(1, records.starts.size + 1), LINE: records.lines},
        schema={ROW: pl.Int64, LINE: pl.Int64},
    )
    return frame, failures, lines


def _field_count_failures(
    data: bytes, records: CsvRecords, bad: np.ndarray, counts: np.ndarray
) -> pl.DataFrame:
    if not bad.size:
        return empty_failures()
    rows = [
        {
            ROW: int(i) + 1,
            "_check": "csv_field_count",
            "_column": None,
            "_value": f"expected {records.expected_fields} fields, got {n}: "
            + data[records.starts[i] : records.ends[i]].decode("utf-8", "replace")[:200],
        }
        for i, n in zip(bad, counts, strict=True)
    ]
    return pl.DataFrame(rows, schema=FAILURE_COLUMNS)


def _oversized_fields(data: bytes, records: CsvRecords) -> tuple[np.ndarray, pl.DataFrame]:
    """Records holding a field over `MAX_FIELD_BYTES`, and one `csv_field_too_large` failure
    each naming the field (its size, never its value). Only records longer than the limit
    are decoded."""
    long = np.flatnonzero(records.ends - records.starts > MAX_FIELD_BYTES)
    found, rows = [], []
    for i in long:
        sizes = _field_sizes(data[records.starts[i] : records.ends[i]])
        over = [k for k, size in enumerate(sizes) if size > MAX_FIELD_BYTES]
        if not over:
            continue
        k = over[0]
        column = records.header[k] if k < len(records.header) else None
        named = f"field {k + 1}" + (f" ({column})" if column else "")
        found.append(int(i))
        rows.append({ROW: int(i) + 1, "_check": "csv_field_too_large", "_column": column,
                     "_value": f"{named} holds {sizes[k]:,} bytes; the limit is "
                     f"{MAX_FIELD_BYTES:,}"})  # fmt: skip
        run_logger(__name__).warning(
            "%s line %s: %s holds %s bytes (limit %s); the record is quarantined. Shorten "
            "or remove that value in the source file and re-run if the row is needed.",
            records.file, int(records.lines[i]), named, f"{sizes[k]:,}", f"{MAX_FIELD_BYTES:,}",
        )  # fmt: skip
    failures = pl.DataFrame(rows, schema=FAILURE_COLUMNS) if rows else empty_failures()
    return np.array(found, dtype=np.int64), failures


def _field_sizes(record: bytes) -> list[int]:
    """Bytes of each field of one record as written (quotes included): numpy over the
    commas outside quotes, as `csv_records` counts fields."""
    raw = np.frombuffer(record, dtype=np.uint8)
    quotes = np.flatnonzero(raw == ord('"'))
    commas = np.flatnonzero(raw == ord(","))
    outside = commas[np.searchsorted(quotes, commas) % 2 == 0]
    bounds = np.concatenate(([-1], outside, [raw.size]))
    return [int(n) for n in np.diff(bounds) - 1]


def _block_size(records: CsvRecords, cut: np.ndarray) -> int:
    """A pyarrow block that holds the longest record left (a record must fit in one)."""
    lengths = np.delete(records.ends - records.starts, cut)
    longest = int(lengths.max()) if lengths.size else 0
    return max(_BLOCK_BYTES, 2 * longest + 2)


def _without(data: bytes, records: CsvRecords, bad: np.ndarray) -> bytes:
    """`data` less the records in `bad` (each with its line break)."""
    if not bad.size:
        return data
    pieces, offset = [], 0
    for i in bad:
        pieces.append(data[offset : records.starts[i]])
        offset = int(records.ends[i])
        offset += 2 if data[offset : offset + 2] == b"\r\n" else 1
    pieces.append(data[offset:])
    return b"".join(pieces)


def _parse(
    data: bytes,
    columns: tuple[str, ...],
    file: str,
    *,
    strict: bool,
    multiline: bool = True,
    block_size: int = _BLOCK_BYTES,
) -> tuple[pa.Table, int]:
    """pyarrow's parse and the number of rows it skipped (strict: a skipped row raises).

    `multiline=False` (the splitter found no line break inside quotes) lets pyarrow split
    blocks at any line break, about 30% faster on the large files; it parses the same rows.
    """
    skipped = 0

    def on_invalid_row(row) -> str:
        nonlocal skipped
        if strict:
            raise MalformedCsv(
                f"{file}: a row of {row.actual_columns} fields where {row.expected_columns} "
                "were expected slipped past the record check; re-export the file and re-run."
            )
        skipped += 1
        return "skip"

    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(block_size=block_size),
        parse_options=pacsv.ParseOptions(
            newlines_in_values=multiline, invalid_row_handler=on_invalid_row
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in columns},
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            include_columns=list(columns),
        ),
    )
    return table, skipped


def _cast(column: str, kind: str) -> pl.Expr:
    text = pl.col(column).str.strip_chars()
    if kind == "ts":
        return text.str.strptime(pl.Datetime("us"), TIMESTAMP_FORMAT, strict=False)
    if kind == "money":
        return text.cast(pl.Float64, strict=False).round(2)
    if kind == "float":
        return text.cast(pl.Float64, strict=False)
    if kind == "int":
        # "3.0" happens in exports that went through a float; accept whole numbers only.
        as_float = text.cast(pl.Float64, strict=False)
        return pl.when(as_float == as_float.floor()).then(as_float).cast(pl.Int32, strict=False)
    if kind == "int8":
        return text.cast(pl.Float64, strict=False).cast(pl.Int8, strict=False)
    if kind == "zip":
        return pl.when(text.str.contains(r"^\d{1,5}$")).then(text.str.zfill(5))
    return pl.col(column)


def type_frame(text: pl.DataFrame, dataset: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cast text columns to their silver types; values that do not cast become failures."""
    types = TYPES[dataset]
    typed = text.select(ROW, *[_cast(c, k).alias(c) for c, k in types.items()])
    failures = [
        text.select(ROW, pl.col(column).alias("_value"))
        .filter(pl.col("_value").is_not_null() & typed[column].is_null())
        .select(
            ROW,
            pl.lit(f"parse_{kind}").alias("_check"),
            pl.lit(column).alias("_column"),
            "_value",
        )
        for column, kind in types.items()
        if kind != "str"
    ]
    failures = pl.concat([empty_failures(), *[f for f in failures if f.height]])
    return typed, failures
