"""No silent row loss when parsing CSVs: every physical record is parsed, quarantined with its
line, or the run stops naming the file and line (docs/data-dictionary.md, "Malformed CSV
records"). Oracle for record counts and start lines: Python's `csv` module."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from blocks.errors import MalformedCsv
from blocks.lake import Lake
from blocks.settings import load_settings
from tasks.layers.silver import read_silver
from tasks.silver.run import run_silver
from tasks.sources.olist.contract import SOURCE_FILES
from tasks.sources.olist.csv_records import split_records
from tasks.sources.olist.ingest import check_olist_dir, land_olist_file
from tasks.sources.olist.parse import read_text_frame
from tasks.sources.olist.synthetic import generate_olist

ROOT = Path(__file__).resolve().parents[4]
PAYMENTS = "olist_order_payments_dataset.csv"
REVIEWS = "olist_order_reviews_dataset.csv"
csv.field_size_limit(64 * 1024 * 1024)  # the oracle must read the 20 MB field too


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    directory = tmp_path_factory.mktemp("olist-integrity")
    generate_olist(directory, orders=1500, seed=42)
    return directory


def _csv_records(data: bytes) -> list[tuple[int, list[str]]]:
    """(start line, fields) of every data record, by Python's csv module."""
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    found, line = [], 1
    for fields in reader:
        found.append((line, fields))
        line = reader.line_num + 1
    return [(start, fields) for start, fields in found[1:] if fields]


def _stray_quote(path, occurrence: str = '"boleto"') -> int:
    """Turn the first `"boleto"` into `"boleto` (closing quote lost); returns its line."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if occurrence in line)
    lines[index] = lines[index].replace(occurrence, occurrence[:-1], 1)
    path.write_text("".join(lines), encoding="utf-8")
    return index + 1


def _land(directory, lake_dir) -> Lake:
    lake = Lake.from_url(str(lake_dir))
    for file in check_olist_dir(directory):
        land_olist_file(lake, file, "run-1")
    return lake


def test_every_synthetic_file_parses_one_row_per_record_with_its_start_line(pristine):
    for dataset, name in SOURCE_FILES.items():
        data = (pristine / name).read_bytes()
        expected = _csv_records(data)
        text, failures, lines = read_text_frame(data, dataset)
        assert failures.height == 0, name
        assert text.height == len(expected) == split_records(data, name).count, name
        assert text["_line"].to_list() == [line for line, _ in expected], name
        assert text["_row"].to_list() == list(range(1, len(expected) + 1)), name
        assert lines.height == text.height, name
    reviews = (pristine / REVIEWS).read_bytes()
    assert any("\n" in fields[4] for _, fields in _csv_records(reviews))  # multi-line covered


def test_stray_quote_stops_silver_naming_file_and_line_and_bronze_says_count_is_estimated(
    olist_dir, tmp_path
):
    line = _stray_quote(olist_dir / PAYMENTS)
    physical_lines = len((olist_dir / PAYMENTS).read_text(encoding="utf-8").splitlines())
    data = (olist_dir / PAYMENTS).read_bytes()
    with pytest.raises(
        MalformedCsv, match=rf"^{PAYMENTS} line {line}: malformed quote in field 3 "
    ):
        read_text_frame(data, "payments")
    payments = next(f for f in check_olist_dir(olist_dir) if f.name == PAYMENTS)
    assert payments.rows == physical_lines - 1  # one record per line: payments have no \n
    assert f"line {line}" in payments.rows_note
    lake = _land(olist_dir, tmp_path / "lake")
    [key] = [k for k in lake.keys("bronze", "olist/order_payments") if k.endswith("_manifest.json")]
    manifest = json.loads(lake.read_bytes("bronze", key))
    assert manifest["rows"] == physical_lines - 1
    assert manifest["extra"]["rows_reliable"] is False
    with pytest.raises(MalformedCsv, match=rf"{PAYMENTS} line {line}: .*fix the quoting"):
        run_silver(lake, load_settings(), "run-1")
    assert lake.keys("silver") == []  # no payment got paid_value 0.0: nothing was published


@pytest.mark.parametrize("trailing_newline", [True, False])
def test_quote_at_end_of_file_stops_naming_the_last_line(olist_dir, trailing_newline):
    path = olist_dir / PAYMENTS
    body = path.read_text(encoding="utf-8") + '"ffff0000ffff0000ffff0000ffff0000",1,"boleto'
    path.write_text(body + ("\n" if trailing_newline else ""), encoding="utf-8")
    last = len(body.splitlines())
    with pytest.raises(MalformedCsv, match=rf"{PAYMENTS} line {last}: .*ends inside"):
        read_text_frame(path.read_bytes(), "payments")
    assert next(f for f in check_olist_dir(olist_dir) if f.name == PAYMENTS).rows_note


def test_a_stray_quote_closed_lines_later_is_a_break_not_one_merged_row():
    # No quote is misplaced: only the field count shows two rows were swallowed into one.
    data = (
        b'"order_id","payment_sequential","payment_type","payment_installments","payment_value"\n'
        b'"a",1,"credit_card",1,10.00\n'
        b'"b",1,"boleto,1,50.58\n'
        b"c,1,voucher,1,20.00\n"
        b'd,1,voucher,1,30.00"\n'
    )
    with pytest.raises(MalformedCsv, match=r"line 3: the record runs over lines 3-5 and has 3"):
        read_text_frame(data, "payments")
    records = split_records(data, PAYMENTS)
    assert (records.starts.size, records.count, records.reliable) == (1, 4, False)


def test_a_quote_inside_an_unquoted_field_is_a_break():
    data = b'review_id,order_id,review_score\nr1,o1,5\nr2,o2 "x,4\nr3,o3,3\n'
    records = split_records(data, "x.csv")
    assert records.broken.line == 3
    assert "field 2 (order_id): a quote inside an unquoted field" in records.broken.detail


def test_a_record_with_the_wrong_field_count_is_quarantined_with_its_line(olist_dir, tmp_path):
    path = olist_dir / PAYMENTS
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(5, '"abc",1,"boleto"\n')  # line 6 of the file, 5th record
    path.write_text("".join(lines), encoding="utf-8")
    data = path.read_bytes()
    expected = _csv_records(data)
    text, failures, record_lines = read_text_frame(data, "payments")
    assert text.height + failures.height == len(expected)  # nothing lost, nothing invented
    assert failures.select("_row", "_check").row(0) == (5, "csv_field_count")
    assert record_lines.filter(pl.col("_row") == 5)["_line"].item() == 6
    following = text.filter(pl.col("_row") == 6)
    assert following.select("_line", "order_id", "payment_value").row(0) == (
        7,
        expected[5][1][0],
        expected[5][1][4],
    )

    lake = _land(olist_dir, tmp_path / "lake")
    summary = run_silver(lake, load_settings(), "run-q")
    assert summary.rows["payments"]["rows_in"] == len(expected)
    assert summary.rows["payments"]["quarantined"] == 1
    quarantine = pl.read_parquet(
        io.BytesIO(lake.read_bytes("quarantine", "payments/run_id=run-q/rows.parquet"))
    )
    assert quarantine.select("_row", "_line", "_check").rows() == [(5, 6, "csv_field_count")]
    silver = read_silver(lake, "payments")
    valid = [fields for _, fields in expected if len(fields) == 5]
    assert silver.height == len(valid)
    cents = int((silver["payment_value"] * 100).round().sum())
    assert cents == sum(round(float(fields[4]) * 100) for fields in valid)


def _with_field(path, record: int, column: int, value: str) -> int:
    """Set one field of the `record`-th data record (1-based); return its start line."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    rows[record][column] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return _csv_records(path.read_bytes())[record - 1][0]


def test_a_20_mb_field_is_quarantined_naming_its_line_and_column(olist_dir, tmp_path, caplog):
    """Was `ArrowInvalid: straddling object ...` naming no file or line."""
    line = _with_field(olist_dir / REVIEWS, 7, 4, "x" * (20 * 1024 * 1024))
    data = (olist_dir / REVIEWS).read_bytes()
    expected = _csv_records(data)
    with caplog.at_level(logging.WARNING):
        text, failures, _ = read_text_frame(data, "reviews")
    assert text.height + failures.height == len(expected)
    assert failures.select("_row", "_check", "_column").row(0) == (
        7, "csv_field_too_large", "review_comment_message"
    )  # fmt: skip
    assert "x" * 100 not in failures["_value"].item()  # its size, never its value
    assert f"{REVIEWS} line {line}: field 5 (review_comment_message) holds 20,971,5" in caplog.text
    assert text.filter(pl.col("_row") == 8)["_line"].item() == expected[7][0]

    lake = _land(olist_dir, tmp_path / "lake")
    summary = run_silver(lake, load_settings(), "run-big")
    assert summary.rows["reviews"]["quarantined"] == 1
    quarantine = pl.read_parquet(
        io.BytesIO(lake.read_bytes("quarantine", "reviews/run_id=run-big/rows.parquet"))
    )
    assert quarantine.select("_row", "_line", "_check").rows() == [(7, line, "csv_field_too_large")]


def test_a_record_longer_than_a_parse_block_with_fields_under_the_limit_parses(olist_dir):
    path = olist_dir / REVIEWS
    _with_field(path, 3, 3, "t" * 700_000)
    _with_field(path, 3, 4, "m" * 700_000)
    text, failures, _ = read_text_frame(path.read_bytes(), "reviews")
    assert failures.height == 0
    assert len(text.filter(pl.col("_row") == 3)["review_comment_message"].item()) == 700_000


def test_a_utf8_bom_is_named_and_ignored_never_a_missing_order_id(olist_dir, caplog):
    path = olist_dir / "olist_orders_dataset.csv"
    clean = path.read_bytes()
    path.write_bytes(b"\xef\xbb\xbf" + clean)
    with caplog.at_level(logging.WARNING):
        orders = next(f for f in check_olist_dir(olist_dir) if f.dataset == "orders")
    assert "olist_orders_dataset.csv starts with a UTF-8 byte order mark" in caplog.text
    assert orders.rows == 1500 and orders.rows_note is None
    text, failures, _ = read_text_frame(path.read_bytes(), "orders")
    plain, _, _ = read_text_frame(clean, "orders")
    assert failures.height == 0
    assert text.equals(plain)  # same order_id column, same values, same lines


def test_escaped_quotes_and_embedded_newlines_stay_one_valid_row(olist_dir):
    path = olist_dir / REVIEWS
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    message = 'ele disse "ótimo"\ne voltou, feliz'
    rows[3][4] = message
    rows[4][3] = 'título "entre aspas"'
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    data = path.read_bytes()
    assert b'"ele disse ""\xc3\xb3timo""\ne voltou, feliz"' in data
    expected = _csv_records(data)
    text, failures, _ = read_text_frame(data, "reviews")
    assert failures.height == 0 and text.height == len(expected) == len(rows) - 1
    assert text.filter(pl.col("_row") == 3)["review_comment_message"].item() == message
    assert text.filter(pl.col("_row") == 4)["review_comment_title"].item() == rows[4][3]
    assert text["_line"].to_list() == [line for line, _ in expected]
    assert split_records(data, REVIEWS).count == len(expected)  # counted once


def test_crlf_line_endings_parse_like_lf(pristine):
    for name, dataset in ((PAYMENTS, "payments"), (REVIEWS, "reviews")):
        lf = (pristine / name).read_bytes()
        crlf = lf.replace(b"\n", b"\r\n")
        text, failures, _ = read_text_frame(crlf, dataset)
        plain, _, _ = read_text_frame(lf, dataset)
        assert failures.height == 0 and text.height == plain.height, name
        assert text["_line"].equals(plain["_line"]), name
        # Only line breaks inside quoted fields differ (they are data, kept as written).
        columns = [c for c in plain.columns if not c.startswith("review_comment")]
        assert text.select(columns).equals(plain.select(columns)), name


def _pipeline_cli(olist_dir, prefect_api) -> subprocess.CompletedProcess:
    command = ["-m", "flows.full_pipeline", "--olist-dir", str(olist_dir), "--sources", "snapshot"]
    return subprocess.run(
        [sys.executable, *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PREFECT_API_URL": prefect_api.url},
        timeout=600,
    )


def test_pipeline_on_a_stray_quote_fails_naming_file_and_line_and_loads_nothing(
    prefect_api, cofre_home, olist_dir
):
    line = _stray_quote(olist_dir / PAYMENTS)
    run = _pipeline_cli(olist_dir, prefect_api)
    assert run.returncode == 1, run.stderr[-3000:]
    stopped = run.stderr[run.stderr.rindex("Cofre stopped:") :]
    assert "Stage 'silver' failed" in stopped
    assert f"MalformedCsv: {PAYMENTS} line {line}: malformed quote in field 3" in stopped
    assert "fix the quoting at that line and re-run." in stopped  # the whole message
    assert "--resume" not in stopped  # bad data would fail again on a resume: no such hint
    database = cofre_home / "warehouse.db"
    if database.exists():  # nothing loaded: no order can show paid_value 0.0
        with sqlite3.connect(database) as conn:
            tables = {r[0] for r in conn.execute("select name from sqlite_master")}
        assert "fact_orders" not in tables


def test_pipeline_message_for_a_multi_file_input_error_keeps_every_file_and_column(
    prefect_api, olist_dir
):
    for name, column in (("olist_order_items_dataset.csv", "price"), (PAYMENTS, "payment_value")):
        path = olist_dir / name
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        lines[0] = lines[0].replace(f',"{column}"', "")
        path.write_text("".join(lines), encoding="utf-8")
    run = _pipeline_cli(olist_dir, prefect_api)
    assert run.returncode == 1, run.stderr[-3000:]
    stopped = run.stderr[run.stderr.rindex("Cofre stopped:") :]
    assert "olist_order_items_dataset.csv: header lacks column(s) price" in stopped
    assert f"{PAYMENTS}: header lacks column(s) payment_value" in stopped
    assert "Fix or replace these files" in stopped


def _records_as_lists(records) -> tuple:
    bad, counts = records.bad_field_count()
    return (records.starts.tolist(), records.ends.tolist(), records.lines.tolist(),
            records.broken, records.count, records.multiline, records.header,
            bad.tolist(), counts.tolist())  # fmt: skip


@pytest.mark.parametrize(
    "text",
    [
        b'a,b,c\n"1","x,y",3\n"2","line\nbreak",4\n5,6,7\n',  # quoted commas, a multi-line field
        b'\xef\xbb\xbf"a","b"\n"1","2"\r\n"3","4"\r\n',  # BOM, CRLF
        b'a,b\n1,2\n3,"4\n5",6\n7,8\n',  # a multi-line record with a field too many: a break
        b'a,b\n1,2\n3,x"y\n4,5\n' + b"6,7\n" * 40,  # a quote inside an unquoted field
        b'a,b\n1,2\n"3"x,4\n' + b'"5","6"\n' * 40,  # text after a closing quote
        b"a,b\n1,2\n" + b'"3","4"\n' * 40 + b'"5,6\n',  # the file ends inside a quoted field
        b'a,b\n1,2,3\n"4","5"\n' + b'"6",""""\n' * 40,  # a record too long; escaped quotes
    ],
)
def test_splitting_a_slice_at_a_time_finds_what_splitting_at_once_finds(text, monkeypatch):
    """The splitter scans its arrays a slice at a time; slices of 64 bytes or entries (many
    per file here, breaks falling anywhere) give what one slice for the whole file gives."""
    import tasks.sources.olist.csv_records as csv_records

    whole = _records_as_lists(split_records(text, "t.csv"))
    assert whole[0]  # records found (before any break)
    monkeypatch.setattr(csv_records, "_SLICE", 64)
    assert _records_as_lists(split_records(text, "t.csv")) == whole
    monkeypatch.setattr(csv_records, "_SLICE", 2)
    assert _records_as_lists(split_records(text, "t.csv")) == whole
