"""The Olist check counts records in bounded pieces; the counts equal a whole-file split."""

from __future__ import annotations

import hashlib

import pytest

import tasks.sources.olist.check as olist
from tasks.sources.olist.csv_records import split_records


@pytest.fixture
def small_pieces(monkeypatch):
    # Chunks and pieces of a few KiB, so every file is split into many pieces.
    monkeypatch.setattr(olist, "_CHUNK", 4096)
    monkeypatch.setattr(olist, "_PIECE", 3 * 4096)


def test_piecewise_counts_equal_the_whole_file_split(pristine, small_pieces):
    files = olist.check_olist_dir(pristine)
    for file in files:
        whole = split_records(file.path.read_bytes(), file.name)
        assert whole.reliable
        assert file.rows == whole.count, file.name
        assert file.rows_note is None
        data = file.path.read_bytes()
        assert file.sha256 == (hashlib.sha256(data).hexdigest(), len(data)), file.name


def test_quoted_line_breaks_and_crlf_across_pieces_count_once(tmp_path, small_pieces):
    header = b'id,"text"\r\n'
    records = [b'%d,"line one\nline two, ""quoted""\nline three"\r\n' % i for i in range(2000)]
    path = tmp_path / "multi.csv"
    path.write_bytes(olist.BOM + header + b"".join(records) + b"\r\n")
    scan = olist._scan(path)
    assert scan.bad_line is None
    assert scan.sha256 == (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_size)
    assert scan.count == split_records(path.read_bytes(), path.name).count == 2000


def test_a_broken_quote_in_a_later_piece_falls_back_to_the_whole_file(tmp_path, small_pieces):
    lines = [b"id,name\n"] + [b"%d,name %d\n" % (i, i) for i in range(5000)]
    lines[4000] = b'4000,na"me\n'  # a quote inside an unquoted field, far past the first piece
    path = tmp_path / "broken.csv"
    path.write_bytes(b"".join(lines))
    scan = olist._scan(path)
    assert (scan.bad_line, scan.count) == (None, None)  # no count: `_count_rows` names the break
    assert scan.sha256 == (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_size)
    rows, note = olist._count_rows(path)
    assert rows == split_records(path.read_bytes(), path.name).count
    assert note is not None and "line 4001" in note


def test_a_non_utf8_byte_is_reported_on_its_line(tmp_path, small_pieces):
    lines = [b"id,name\n"] + [b"%d,name %d\n" % (i, i) for i in range(3000)]
    lines[2500] = b"2500,caf\xe9\n"
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"".join(lines))
    assert olist._scan(path) == olist._Scan(2501, None, None)


def test_a_quoted_field_longer_than_a_piece_counts_once(tmp_path, small_pieces):
    # No record boundary in several pieces in a row: they are carried over, header in front.
    long_text = b"\n".join(b"line %d, with a comma" % i for i in range(2000))  # ~ 45 KiB
    lines = [b'id,"text"\n'] + [b'%d,"short"\n' % i for i in range(1000)]
    lines[500] = b'500,"' + long_text + b'"\n'
    path = tmp_path / "long.csv"
    path.write_bytes(b"".join(lines))
    scan = olist._scan(path)
    assert scan.count == split_records(path.read_bytes(), path.name).count == 1000


def test_a_bad_byte_in_a_later_chunk_and_a_cut_character_at_the_end_name_their_lines(
    tmp_path, small_pieces
):
    lines = [b"id,name\n"] + [b"%d,caf\xc3\xa9 %d\n" % (i, i) for i in range(3000)]
    path = tmp_path / "late.csv"
    path.write_bytes(b"".join(lines[:2900]) + b"2899,\xff\n" + b"".join(lines[2901:]))
    assert olist._scan(path) == olist._Scan(2901, None, None)
    path.write_bytes(b"".join(lines) + b"3000,caf\xc3")  # the file ends inside a character
    assert olist._scan(path) == olist._Scan(3002, None, None)
