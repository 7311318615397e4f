"""Split a CSV file into records once, vectorised, so every record is accounted for.

RFC 4180: a field may be quoted; inside quotes a line break is data and `""` is one quote.
A line break is a record boundary when an even number of quotes precedes it. Quoting is
sound when every opening quote starts a field (after a comma, a line break or the start of
the file) and every closing quote ends one (before a comma, a line break or the end). Where
quoting is not sound, the record boundaries after that point cannot be known: a stray quote
makes a reader swallow the following lines into one field. `split_records` finds such a
break and says where it is; it never guesses records past it.

A record whose fields do not match the header but whose quoting is sound and which sits on
one line is a local problem (its boundaries are certain): callers quarantine it. A record
that runs over several lines *and* has the wrong number of fields is treated as a break: a
stray quote that happened to close later looks exactly like that.

The work is numpy over the positions of quotes, commas and line feeds: no Python loop per
byte or per record (about 0.5 s for a 63 MB, 1-million-row file; docs/data-dictionary.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from blocks.errors import MalformedCsv

BOM = b"\xef\xbb\xbf"
_QUOTE, _COMMA, _LF, _CR = ord('"'), ord(","), ord("\n"), ord("\r")
# Bytes that may sit just before an opening quote / just after a closing one (a lookup
# table per quote is cheaper than three comparisons over millions of quotes).
_MAY_PRECEDE = np.isin(np.arange(256), (_COMMA, _LF, _QUOTE))
_MAY_FOLLOW = np.isin(np.arange(256), (_COMMA, _LF, _CR, _QUOTE))


@dataclass(frozen=True)
class QuoteBreak:
    """The first point where the file's quoting is not sound."""

    line: int  # 1-based physical line where the affected record starts
    detail: str  # what is wrong, with its line and field, never the field's value

    def message(self, file: str) -> str:
        return (
            f"{file} line {self.line}: {self.detail}. Records from here on cannot be told "
            "apart, so the file was not used: fix the quoting at that line and re-run."
        )


@dataclass(frozen=True)
class CsvRecords:
    """Where each data record of a CSV file starts and ends (header and blank lines excluded).

    Arrays hold one entry per record before the break (every record when `broken` is None).
    """

    file: str
    bom: bool
    header: tuple[str, ...]
    expected_fields: int  # fields in the header record
    header_end: int  # offset just past the header's line break
    starts: np.ndarray  # byte offset where each record starts
    ends: np.ndarray  # byte offset where it ends (line break excluded)
    lines: np.ndarray  # 1-based physical line where it starts
    broken: QuoteBreak | None
    records_after_break: int  # non-blank physical lines from the break on (estimate)
    _raw: np.ndarray = field(repr=False)
    _quotes: np.ndarray = field(repr=False)
    # Some line break lies inside a quoted field: a parser must allow newlines in values.
    multiline: bool = True

    @property
    def reliable(self) -> bool:
        return self.broken is None

    @property
    def count(self) -> int:
        """Physical records; past a break each non-blank line counts as one (an estimate)."""
        return int(self.starts.size) + self.records_after_break

    def field_counts(self) -> np.ndarray:
        """Fields of each record (commas outside quotes + 1): a full pass, done on demand."""
        return _field_counts(self._raw, self._quotes, self.starts, self.ends)

    def bad_field_count(self) -> tuple[np.ndarray, np.ndarray]:
        """Indexes of records whose field count differs from the header's, and their counts."""
        counts = self.field_counts()
        bad = np.flatnonzero(counts != self.expected_fields)
        return bad, counts[bad]

    def raise_if_broken(self) -> None:
        if self.broken is not None:
            raise MalformedCsv(self.broken.message(self.file))


def split_records(data: bytes, file: str) -> CsvRecords:
    """Record boundaries and start lines of `data`, and where its quoting first breaks.

    `file` only names the file in messages. A UTF-8 byte order mark is skipped (`bom=True`).
    """
    bom = data.startswith(BOM)
    begin = len(BOM) if bom else 0
    size = len(data)
    raw = np.frombuffer(data, dtype=np.uint8)
    quotes = _positions(raw, _QUOTE)
    quotes = quotes[int(np.searchsorted(quotes, begin)) :]  # none in the BOM; a view, no copy
    newlines = _positions(raw, _LF)
    at = np.flatnonzero(np.searchsorted(quotes, newlines) % 2 == 0)  # boundary line feeds
    # pyarrow also ends rows at a lone CR: any CR not in a CRLF counts as multi-line too.
    multiline = bool(at.size < newlines.size) or _lone_cr(raw, b"\r" in data)
    seg_starts = np.concatenate(([begin], newlines[at] + 1))
    seg_ends = np.concatenate((newlines[at], [size]))
    start_lines = np.concatenate(([1], at + 2))  # line feed k ends line k + 1
    end_lines = np.concatenate((at + 1, [newlines.size + 1]))
    if seg_starts[-1] >= size:  # the file ends with a line break: no record after it
        seg_starts, seg_ends = seg_starts[:-1], seg_ends[:-1]
        start_lines, end_lines = start_lines[:-1], end_lines[:-1]
    has_cr = (seg_ends > seg_starts) & (raw[np.maximum(seg_ends - 1, 0)] == _CR)
    seg_ends = seg_ends - has_cr
    if seg_starts.size == 0:
        empty = np.empty(0, dtype=np.int64)
        return CsvRecords(
            file, bom, (), 0, size, empty, empty, empty, None, 0, raw, quotes, multiline
        )
    header_text = data[seg_starts[0] : seg_ends[0]].decode("utf-8", "replace")
    header = tuple(h.strip('"') for h in header_text.split(","))
    expected = int(_field_counts(raw, quotes, seg_starts[:1], seg_ends[:1])[0])
    header_end = int(seg_starts[1]) if seg_starts.size > 1 else size

    cut, broken = _first_break(raw, begin, quotes, seg_starts, newlines, header)
    # A stray quote that closes lines later looks like a quoted line break: the wrong
    # number of fields gives it away. Only multi-line records need counting here.
    multi = np.flatnonzero(end_lines > start_lines)
    multi = multi[(multi > 0) & (multi < (seg_starts.size if cut is None else cut))]
    if multi.size:
        counts = _field_counts(raw, quotes, seg_starts[multi], seg_ends[multi])
        wrong = np.flatnonzero(counts != expected)
        if wrong.size:
            cut, n = int(multi[wrong[0]]), int(counts[wrong[0]])
            broken = QuoteBreak(
                int(start_lines[cut]),
                f"the record runs over lines {start_lines[cut]}-{end_lines[cut]} and has "
                f"{n} fields where the header has {expected}: a quoted field probably "
                "lacks its closing quote",
            )
    after = 0
    if cut is not None:
        # A break in the header: the records start on the line after the header's first.
        first = int(seg_starts[cut]) if cut else (int(newlines[0]) + 1 if newlines.size else size)
        after = sum(1 for line in data[first:].split(b"\n") if line.strip(b"\r"))
    else:
        cut = seg_starts.size
    keep = np.arange(1, cut)
    keep = keep[seg_ends[keep] > seg_starts[keep]]  # blank lines carry no record
    return CsvRecords(
        file,
        bom,
        header,
        expected,
        header_end,
        seg_starts[keep],
        seg_ends[keep],
        start_lines[keep],
        broken,
        after,
        raw,
        quotes,
        multiline,
    )


# Work on the large arrays goes a slice at a time: temporaries of a few MiB stay in the CPU's
# cache and in the allocator's reused memory, where whole-file temporaries took fresh pages
# from the kernel (zeroed) on every call. The nine 10x files, each split in a fresh process:
# 1.6-1.9 s -> 1.2-1.5 s (with int32 offsets and field counts over multi-line records only).
_SLICE = 1 << 23  # bytes of the file, or entries of a positions array


def _offsets_dtype(raw: np.ndarray) -> type[np.signedinteger]:
    """int32 offsets for files under 2 GiB (half the memory and bandwidth), else int64."""
    return np.int32 if raw.size < np.iinfo(np.int32).max else np.int64


def _positions(raw: np.ndarray, byte: int, low: int = 0, high: int | None = None) -> np.ndarray:
    """Offsets of `byte` in `raw[low:high]` (offsets in `raw`), in ascending order."""
    dtype = _offsets_dtype(raw)
    high = raw.size if high is None else high
    found = [
        np.flatnonzero(raw[i : min(i + _SLICE, high)] == byte).astype(dtype) + dtype(i)
        for i in range(low, high, _SLICE)
    ]
    return np.concatenate(found) if found else np.empty(0, dtype=dtype)


def _lone_cr(raw: np.ndarray, has_cr: bool) -> bool:
    """Whether a CR in `raw` is not followed by a line feed. numpy, not two `bytes.count`
    calls, which held the GIL from the other threads' parsing (10x reviews: 0.14 s)."""
    if not has_cr:
        return False
    after = _positions(raw, _CR) + 1
    return bool(after[-1] >= raw.size or (raw[after] != _LF).any())


def _field_counts(
    raw: np.ndarray, quotes: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> np.ndarray:
    """Fields per record: commas outside quotes (an even number of quotes before) + 1.
    The records (`starts`, `ends`) must not overlap."""
    if not starts.size:
        return np.empty(0, dtype=np.int64)
    commas = _positions(raw, _COMMA, int(starts.min()), int(ends.max()))
    if starts.size > 1:  # only the commas inside the records (few: the multi-line ones)
        order = np.argsort(starts, kind="stable")
        record = np.searchsorted(starts[order], commas, side="right") - 1
        commas = commas[commas < ends[order][record]]  # each comma is at or after a start
    outside = commas[np.searchsorted(quotes, commas) % 2 == 0]
    return np.searchsorted(outside, ends) - np.searchsorted(outside, starts) + 1


def _first_break(
    raw: np.ndarray,
    begin: int,
    quotes: np.ndarray,
    seg_starts: np.ndarray,
    newlines: np.ndarray,
    header: tuple[str, ...],
) -> tuple[int | None, QuoteBreak | None]:
    """The segment index where quoting first goes wrong, and what is wrong."""
    size = raw.size
    candidates = []
    for i in range(0, quotes.size, _SLICE):  # an even step: openings stay at even indexes
        opening, closing = quotes[i : i + _SLICE : 2], quotes[i + 1 : i + _SLICE : 2]
        bad_open = opening[(opening > begin) & ~_MAY_PRECEDE[raw[np.maximum(opening - 1, 0)]]]
        bad_close = closing[
            (closing < size - 1) & ~_MAY_FOLLOW[raw[np.minimum(closing + 1, size - 1)]]
        ]
        if bad_open.size:
            candidates.append((int(bad_open[0]), "a quote inside an unquoted field"))
        if bad_close.size:
            candidates.append((int(bad_close[0]), "text follows the closing quote"))
        if candidates:  # later slices hold later quotes only
            break
    if quotes.size % 2:
        candidates.append((int(quotes[-1]), "the file ends inside this quoted field"))
    if not candidates:
        return None, None
    position, what = min(candidates)
    segment = int(np.searchsorted(seg_starts, position, side="right")) - 1
    # The offending quote's field opened at the last opening quote up to it.
    index = int(np.searchsorted(quotes, position))
    opened_at = int(quotes[index - index % 2])
    record_start = seg_starts[segment : segment + 1]
    field = int(_field_counts(raw, quotes, record_start, np.array([opened_at]))[0]) - 1
    name = f" ({header[field]})" if field < len(header) else ""
    line, opened_line = (int(np.searchsorted(newlines, p)) + 1 for p in (position, opened_at))
    where = (
        f"line {line}"
        if line == opened_line
        else f"line {line}, field opened on line {opened_line}"
    )
    detail = f"malformed quote in field {field + 1}{name}: {what} ({where})"
    start_line = int(np.searchsorted(newlines, seg_starts[segment])) + 1
    return segment, QuoteBreak(start_line, detail)
