"""The console a person reads: plain aligned text, a line per stage, one live line.

The reports a run writes for Prefect's UI are Markdown (artifacts, the run summary); the
console shows the same reports as plain text (`markdown_as_text`: one place writes each
report's content), a line per finished stage (`stage_line`) and, while a stage works, on a
terminal only, one line saying what runs and for how long (`live_progress`): redrawn every
second by a daemon thread, below the log, cleared when the stage ends. When stderr is not a
terminal (CI logs, a pipe, a file) nothing of the live line is written.

Standard library only.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from tasks.run_summary import StageResult

GAP = "  "  # between columns
REDRAW_SECONDS = 1.0
CLEAR_LINE = "\r\x1b[K"  # to the line's start, erase to its end
ALIGNMENT_CELL = re.compile(r"^:?-+:?$")  # a Markdown table's `---`, `---:`, `:---:`


def text_table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], *, right: Collection[int] = ()
) -> str:
    """`rows` under `headers` in aligned columns, a rule of dashes under the headers; the
    columns numbered in `right` (numbers) are right-aligned. Cells are `str()`-ed as given:
    format numbers before (`f"{n:,}"`); cells beyond the headers' count are dropped."""
    columns = len(headers)  # a short row is padded with empty cells
    cells = [[str(h) for h in headers]]
    cells += [([str(cell) for cell in row] + [""] * columns)[:columns] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(columns)]
    rule = ["-" * width for width in widths]

    def line(row: Sequence[str]) -> str:
        padded = (
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        return GAP.join(padded).rstrip()

    return "\n".join(line(row) for row in [cells[0], rule, *cells[1:]])


def markdown_as_text(markdown: str) -> str:
    """A report as Cofre writes it in Markdown (headings, pipe tables, bullets, bold) as
    plain text: headings without `#`, tables as `text_table` (right-aligned where the
    Markdown aligns `---:`), no `**`; bullets and every other line as they are."""
    lines: list[str] = []
    table: list[str] = []
    for line in [*markdown.splitlines(), ""]:  # the sentinel ends a closing table
        if line.startswith("|"):
            table.append(line)
            continue
        if table:
            lines.append(_table_as_text(table))
            table = []
        lines.append(re.sub(r"^#+\s+", "", line).replace("**", ""))
    return "\n".join(lines).rstrip()


def _table_as_text(markdown_rows: list[str]) -> str:
    rows = [[cell.strip() for cell in row.strip().strip("|").split("|")] for row in markdown_rows]
    headers, body = rows[0], rows[1:]
    right: set[int] = set()
    if body and all(ALIGNMENT_CELL.match(cell) for cell in body[0]):
        right = {i for i, cell in enumerate(body[0]) if cell.endswith(":") and cell[0] != ":"}
        body = body[1:]
    return text_table(headers, body, right=right)


def stage_line(result: StageResult) -> str:
    """One short line for a stage that ended, aligned with the other stages' lines:
    `silver     completed       26,150 in     23,546 out      1 quarantined    1.3 s`."""
    return (
        f"{result.stage:<10} {result.status:<11} {result.rows_in:>10,} in {result.rows_out:>10,}"
        f" out {result.quarantined:>6,} quarantined {result.seconds:>6.1f} s"
    )


def is_terminal(stream: TextIO) -> bool:
    """Whether `stream` is a terminal that understands `\\r` and erase-line (not TERM=dumb)."""
    try:
        return stream.isatty() and os.environ.get("TERM", "") != "dumb"
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class LiveLine:
    """The live line: what runs (innermost last) and for how long, redrawn every second.

    `lock` orders every write to the terminal: the line's redraws and the log records the
    console handlers write (through `_BelowLiveLine`), so a record never lands mid-line."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.lock = threading.RLock()
        self.running: list[tuple[str, float]] = []  # (label, started), outermost first
        self.shown = False
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._redraw, name="cofre-live-line", daemon=True)

    def text(self, now: float) -> str:
        parts = [f"{label} {now - started:.0f} s" for label, started in self.running]
        return "... " + " > ".join(parts) if parts else ""

    def draw(self) -> None:
        """The line, then the cursor back to its start: what writes to the terminal around
        the logging handlers (Spark's JVM, Python's warnings) overwrites it from its first
        column instead of running on after it."""
        with self.lock:
            if self.running:
                self._write(CLEAR_LINE + self.text(time.monotonic()) + "\r")
                self.shown = True

    def clear(self) -> None:
        with self.lock:
            if self.shown:
                self._write(CLEAR_LINE)
                self.shown = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=2 * REDRAW_SECONDS)
        self.clear()

    def _redraw(self) -> None:
        while not self._stopped.wait(REDRAW_SECONDS):
            self.draw()

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # the terminal went away: nothing left to show
            self._stopped.set()


class _BelowLiveLine(logging.Handler):
    """A console handler's stand-in while the live line shows: clears the line, lets the
    handler write its record (its own level, filters and format), draws the line again."""

    def __init__(self, inner: logging.Handler, live: LiveLine) -> None:
        super().__init__(inner.level)
        self.inner, self.live = inner, live

    def handle(self, record: logging.LogRecord) -> bool:
        with self.live.lock:
            self.live.clear()
            try:
                return bool(self.inner.handle(record))
            finally:
                self.live.draw()

    def emit(self, record: logging.LogRecord) -> None:  # handle() above does the work
        self.inner.emit(record)


_live: LiveLine | None = None
_live_guard = threading.Lock()


@contextmanager
def live_progress(label: str, stream: TextIO | None = None) -> Iterator[None]:
    """While the block runs, a terminal `stream` (default stderr) shows `label` and its
    elapsed seconds on one line, below the log; nested blocks add theirs after (`a 9 s >
    b 2 s`). Not a terminal: does nothing."""
    global _live
    stream = stream or sys.stderr
    if not is_terminal(stream):
        yield
        return
    with _live_guard:
        live = _live if _live is not None and _live.stream is stream else None
        if live is None:
            live = _live = LiveLine(stream)
            _below_live_line(live)
            live.start()
    entry = (label, time.monotonic())
    with live.lock:
        live.running.append(entry)
    live.draw()
    try:
        yield
    finally:
        with _live_guard:  # no other block joins this line while it is being stopped
            with live.lock:
                live.running.remove(entry)
                last = not live.running
            if last:
                live.stop()
                _restore_handlers(live)
                _live = None
        if not last:
            live.draw()


def _console_handlers(stream: TextIO) -> list[tuple[int, logging.Handler]]:
    """The root logger's handlers that write to `stream`'s terminal (Prefect's console
    handler sits there), with their positions."""
    try:
        target = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return []
    found = []
    for position, handler in enumerate(logging.getLogger().handlers):
        written = getattr(handler, "stream", None)
        try:
            if written is not None and written.fileno() == target:
                found.append((position, handler))
        except (AttributeError, OSError, ValueError):
            continue
    return found


def _below_live_line(live: LiveLine) -> None:
    root = logging.getLogger()
    for position, handler in _console_handlers(live.stream):
        root.handlers[position] = _BelowLiveLine(handler, live)


def _restore_handlers(live: LiveLine) -> None:
    root = logging.getLogger()
    for position, handler in enumerate(root.handlers):
        if isinstance(handler, _BelowLiveLine) and handler.live is live:
            root.handlers[position] = handler.inner
