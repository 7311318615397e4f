"""Olist directory checks and landing in bronze (local disk and S3)."""

from __future__ import annotations

import hashlib
import json
import logging

import pytest

from blocks.errors import InvalidSourceData, LakeError
from blocks.lake import Lake
from tasks.sources.olist.contract import OLIST_FILES, dataset_name
from tasks.sources.olist.ingest import check_olist_dir, land_olist_file


def test_a_complete_directory_checks_out_with_row_counts(olist_dir):
    files = check_olist_dir(olist_dir)
    assert sorted(f.name for f in files) == sorted(OLIST_FILES)
    orders = next(f for f in files if f.dataset == "orders")
    assert orders.rows == 500
    assert dataset_name("product_category_name_translation.csv") == "category_translation"


def test_missing_orders_file_is_named(olist_dir):
    (olist_dir / "olist_orders_dataset.csv").unlink()
    with pytest.raises(InvalidSourceData, match=r"olist_orders_dataset\.csv: missing from"):
        check_olist_dir(olist_dir)


def test_header_missing_price_names_file_and_column(olist_dir):
    path = olist_dir / "olist_order_items_dataset.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[0] = lines[0].replace(',"price"', "").replace(",price", "")
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(InvalidSourceData) as caught:
        check_olist_dir(olist_dir)
    message = str(caught.value)
    assert "olist_order_items_dataset.csv: header lacks column(s) price" in message


def test_empty_file_is_reported(olist_dir):
    (olist_dir / "olist_sellers_dataset.csv").write_bytes(b"")
    with pytest.raises(InvalidSourceData, match=r"olist_sellers_dataset\.csv: the file is empty"):
        check_olist_dir(olist_dir)


def test_header_only_file_is_reported(olist_dir):
    path = olist_dir / "olist_sellers_dataset.csv"
    path.write_bytes(path.read_bytes().splitlines(keepends=True)[0])
    with pytest.raises(InvalidSourceData, match="header but no rows"):
        check_olist_dir(olist_dir)


def test_non_utf8_file_names_the_line(olist_dir):
    path = olist_dir / "olist_customers_dataset.csv"
    lines = path.read_bytes().splitlines(keepends=True)
    lines[3] = lines[3].rstrip(b"\n") + b"\xe3\n"  # a Latin-1 "ã": not UTF-8
    path.write_bytes(b"".join(lines))
    with pytest.raises(
        InvalidSourceData, match=r"customers_dataset\.csv: not valid UTF-8 at line 4"
    ):
        check_olist_dir(olist_dir)


@pytest.mark.parametrize(
    ("tail", "bad_line"),
    [
        ("ã".encode(), None),  # a two-byte character split by the chunk's end: valid
        ("ã".encode()[:1], 3),  # only its first byte, then ASCII: not UTF-8
        (b"\xe3", 3),  # a Latin-1 "ã" at the chunk's end
    ],
)
def test_utf8_is_checked_across_chunks_that_are_plain_ascii(tmp_path, monkeypatch, tail, bad_line):
    """Chunks that are all ASCII are not decoded, unless a character began in the chunk
    before: a character cut by a chunk's end is still checked, and a bad one still found."""
    import tasks.sources.olist.check as ingest

    monkeypatch.setattr(ingest, "_CHUNK", 16)
    monkeypatch.setattr(ingest, "_PIECE", 16)
    head = b"id,city\n1,Recife\n2,"  # the chunk is 16 bytes: the character starts at 20
    head = head + b"x" * (32 - len(head) - len(tail[:1])) + tail[:1]
    data = head + tail[1:] + b"o Paulo\n" + b"3,Natal\n" * 10  # then ASCII chunks only
    path = tmp_path / "cities.csv"
    path.write_bytes(data)
    scan = ingest._scan(path)
    assert scan.bad_line == bad_line
    if bad_line is None:
        assert (scan.count, scan.sha256) == (12, (hashlib.sha256(data).hexdigest(), len(data)))


def test_every_problem_is_listed_at_once(olist_dir):
    (olist_dir / "olist_orders_dataset.csv").unlink()
    (olist_dir / "olist_sellers_dataset.csv").write_bytes(b"")
    with pytest.raises(InvalidSourceData) as caught:
        check_olist_dir(olist_dir)
    assert "olist_orders_dataset.csv" in str(caught.value)
    assert "olist_sellers_dataset.csv" in str(caught.value)


def test_extra_files_are_ignored_with_a_warning(olist_dir, caplog):
    (olist_dir / "notes.txt").write_text("hello")
    with caplog.at_level(logging.WARNING):
        files = check_olist_dir(olist_dir)
    assert len(files) == 9
    assert "Ignoring notes.txt" in caplog.text


def test_missing_directory_says_what_to_do(tmp_path):
    with pytest.raises(InvalidSourceData, match="--olist-dir"):
        check_olist_dir(tmp_path / "nowhere")


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_files_land_byte_for_byte_and_reingest_is_a_no_op(olist_dir, tmp_path, request, kind):
    if kind == "local":
        lake = Lake.from_url(str(tmp_path / "lake"))
    else:
        lake = Lake.from_url(
            f"s3://{request.getfixturevalue('s3_bucket')}",
            endpoint_url=request.getfixturevalue("moto_endpoint"),
        )
    files = check_olist_dir(olist_dir)
    landings = [land_olist_file(lake, f, "run-1") for f in files]
    for file, landing in zip(files, landings, strict=True):
        stored = lake.read_bytes("bronze", landing.manifest.key)
        assert stored == file.path.read_bytes()
        manifest = json.loads(lake.read_bytes("bronze", landing.manifest.manifest_key))
        assert manifest["sha256"] == hashlib.sha256(stored).hexdigest()
        assert manifest["rows"] == file.rows
    again = [land_olist_file(lake, f, "run-2") for f in files]
    assert not any(landing.written for landing in again)
    assert not [k for k in lake.keys("bronze") if "run_id=run-2" in k]


def test_a_file_rewritten_after_the_check_does_not_land(olist_dir, tmp_path):
    """The check hashes each file as it reads it; landing copies it against that sha256, so
    bronze never holds bytes other than the ones checked and counted."""
    lake = Lake.from_url(str(tmp_path / "lake"))
    files = check_olist_dir(olist_dir)
    sellers = next(f for f in files if f.dataset == "sellers")
    assert sellers.sha256 == (
        hashlib.sha256(sellers.path.read_bytes()).hexdigest(),
        sellers.path.stat().st_size,
    )
    with open(sellers.path, "ab") as handle:  # one more record, after the count
        handle.write(b"extra,00000,somewhere,SP\n")
    with pytest.raises(LakeError, match=r"olist_sellers_dataset\.csv changed while"):
        land_olist_file(lake, sellers, "run-1")
    assert not [k for k in lake.keys("bronze") if "sellers" in k]
