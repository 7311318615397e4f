"""The console's plain text (tasks/console.py): reports without Markdown, aligned stage lines,
and the live line, which a terminal gets and anything else does not."""

from __future__ import annotations

import io
import logging
import os
import pty
import re
import time

from tasks.console import live_progress, markdown_as_text, stage_line, text_table
from tasks.run_summary import RunSummary, StageResult


def _summary() -> RunSummary:
    summary = RunSummary("r-1", flow_run_name="quiet-jackdaw")
    summary.stages = [
        StageResult("ingestion", rows_in=26_150, rows_out=26_150, seconds=1.52),
        StageResult("silver", rows_in=26_150, rows_out=23_546, quarantined=1, seconds=1.31),
        StageResult("gold", status="failed", rows_in=23_471, seconds=12.0, note="Boom: x"),
    ]
    summary.gold_engine = "duckdb"
    summary.sources = [{"source": "bcb_sgs/ipca_433", "fell_back": True, "reason": "offline"}]
    summary.finish("failed")
    return summary


def test_the_run_summary_reads_as_an_aligned_table_without_markdown():
    text = markdown_as_text(_summary().to_markdown())
    lines = text.splitlines()
    assert lines[0] == "Run quiet-jackdaw: failed"
    header, rule, *rows = lines[2:7]
    assert header.split() == ["stage", "status", "rows", "in", "rows", "out", "quarantined",
                              "seconds", "note"]  # fmt: skip
    assert set(rule.replace(" ", "")) == {"-"}
    assert rows[0].split() == ["ingestion", "completed", "26,150", "26,150", "0", "1.5"]
    assert rows[2].split() == ["gold", "failed", "23,471", "0", "0", "12.0", "Boom:", "x"]
    # Numbers are right-aligned: each column's values end where its header ends.
    for title in ("rows in", "rows out", "quarantined", "seconds"):
        end = header.index(title) + len(title)
        assert {row[:end][-1] for row in rows} <= set("0123456789"), title
    assert "|" not in text and "#" not in text and "**" not in text
    assert "Sources served from bundled snapshots (not live):" in lines
    assert "- bcb_sgs/ipca_433: offline" in lines


def test_headings_and_bullets_keep_their_words():
    report = "# Gold tables (v1)\n\n| table | rows |\n|---|---:|\n| dim_date | 791 |\n"
    report += "\n## Notes\n- a"
    assert markdown_as_text(report).splitlines() == [
        "Gold tables (v1)", "", "table     rows", "--------  ----", "dim_date   791", "",
        "Notes", "- a",
    ]  # fmt: skip


def test_a_row_shorter_than_its_header_is_padded():
    assert text_table(["a", "b"], [["1"]]).splitlines() == ["a  b", "-  -", "1"]


def test_stage_lines_line_up_whatever_the_numbers():
    lines = [
        stage_line(StageResult("ingestion", rows_in=1_234_567, rows_out=1_234_567, seconds=61.0)),
        stage_line(StageResult("gold", status="interrupted", rows_in=3, seconds=0.25)),
    ]
    for word in (" in ", " out ", " quarantined ", " s"):
        assert len({line.rindex(word) for line in lines}) == 1, (word, lines)
    assert lines[1].split() == ["gold", "interrupted", "3", "in", "0", "out", "0",
                                "quarantined", "0.2", "s"]  # fmt: skip


def test_no_live_line_when_the_stream_is_not_a_terminal():
    stream = io.StringIO()
    with live_progress("silver", stream):
        time.sleep(1.3)
    assert stream.getvalue() == ""


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # nothing left, or the other side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode()


def test_on_a_terminal_the_live_line_counts_seconds_below_the_log_and_is_cleared():
    leader, follower = pty.openpty()
    terminal = os.fdopen(follower, "w", encoding="utf-8")
    handler = logging.StreamHandler(terminal)
    root = logging.getLogger()
    root.addHandler(handler)  # where Prefect's console handler sits
    try:
        os.set_blocking(leader, False)
        with live_progress("pipeline", terminal), live_progress("silver", terminal):
            time.sleep(1.5)
            root.warning("a record while the line shows")
            time.sleep(1.2)
        drawn = _read_all(leader)
        assert handler in root.handlers  # the console handler is itself again
    finally:
        root.removeHandler(handler)
        terminal.close()
        os.close(leader)
    assert re.search(r"\.\.\. pipeline \d s > silver 1 s", drawn), repr(drawn)
    # The record starts on a cleared line and the live line is drawn again below it.
    record = "\r\x1b[Ka record while the line shows"
    assert record in drawn, repr(drawn)
    assert "... pipeline" in drawn.split(record, 1)[1], repr(drawn)
    # Nothing is ever written after the live text: each draw puts the cursor back at the
    # line's start, where a record (or a JVM's line) overwrites it.
    for after in re.findall(r"\.\.\. pipeline \d+ s(?: > silver \d+ s)?(.?)", drawn):
        assert after == "\r", repr(drawn)
    assert drawn.endswith("\r\x1b[K"), repr(drawn[-80:])  # cleared when the stage ends
