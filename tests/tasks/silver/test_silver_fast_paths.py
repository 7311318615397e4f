"""The silver stage's fast paths give exactly what the plain ways give.

Each test pins one shortcut against the slower reference it replaced: per-value `hmac`, pyarrow
with newlines in values always allowed, and polars' `unique(maintain_order=True)`.
"""

from __future__ import annotations

import os

import polars as pl
import pytest

import tasks.sources.olist.parse as olist_silver
from tasks.silver.masking import (
    apply_masking,
    get_policy,
    hmac_token_series,
    keyed_hash,
    pseudonym,
)
from tasks.silver.olist import _dedupe
from tasks.sources.olist.csv_records import split_records
from tasks.sources.olist.parse import read_text_frame
from validation.gate import ROW

VALUES = [
    "",
    "a",
    "ção",
    "名前",
    "x" * 1000,
    "pseudonym:a",
    *(os.urandom(8).hex() for _ in range(50)),
]


def hmac_tokens(values: list[str], key: bytes, method: str) -> list[str]:
    return hmac_token_series(pl.Series(values, dtype=pl.String), key, method).to_list()


@pytest.mark.parametrize("key_length", [0, 1, 32, 64, 65, 200])
def test_bulk_hmac_tokens_equal_per_value_hmac_for_any_key_length(key_length):
    key = os.urandom(key_length)  # >64 bytes is hashed first (RFC 2104), <64 zero-padded
    assert hmac_tokens(VALUES, key, "pseudonym") == [pseudonym(v, key) for v in VALUES]
    assert hmac_tokens(VALUES, key, "keyed_hash") == [keyed_hash(v, key) for v in VALUES]


def test_a_shared_token_cache_gives_the_same_pseudonyms_as_a_fresh_one():
    key = b"k" * 32
    frame = pl.DataFrame({"customer_id": ["c1", "c2", None, "c1"]})
    cache: dict = {}
    first, _ = apply_masking(frame, "orders", get_policy("default"), key, cache)
    again, _ = apply_masking(frame, "orders", get_policy("default"), key, cache)
    fresh, _ = apply_masking(frame, "orders", get_policy("default"), key)
    expected = [pseudonym("c1", key), pseudonym("c2", key), None, pseudonym("c1", key)]
    assert first["customer_id"].to_list() == again["customer_id"].to_list() == expected
    assert fresh["customer_id"].to_list() == expected


@pytest.mark.parametrize(
    "values",
    [
        [f"id{i}" for i in range(300)] + [None, "id7"],  # ids: every value hashed directly
        ["SP", "RJ", None, "SP", "MG"] * 60,  # repeating: each distinct value hashed once
    ],
)
def test_id_and_repeating_columns_get_the_tokens_per_value_hmac_gives(values):
    key = b"k" * 32
    frame = pl.DataFrame({"customer_id": values}, schema={"customer_id": pl.String})
    masked, _ = apply_masking(frame, "orders", get_policy("default"), key, {})
    expected = [None if v is None else pseudonym(v, key) for v in values]
    assert masked["customer_id"].to_list() == expected


HEADER = b"order_id,payment_sequential,payment_type,payment_installments,payment_value\n"
CSVS = {
    "plain": HEADER + b"o1,1,credit_card,2,10.5\no2,1,boleto,1,3\n",
    "quoted": HEADER + b'"o1","1","credit_card","2","10.5"\n"o2",1,"a,b",1,3\n',
    "crlf": HEADER.replace(b"\n", b"\r\n") + b"o1,1,credit_card,2,10.5\r\no2,1,boleto,1,3\r\n",
    "quoted_lf": HEADER + b'o1,1,"credit\ncard",2,10.5\no2,1,boleto,1,3\n',
    "quoted_cr": HEADER + b'o1,1,"credit\rcard",2,10.5\no2,1,boleto,1,3\n',
    "cr_then_crlf": HEADER + b'o1,1,"credit\r\r\ncard",2,10.5\r\n',
    "cr_at_the_end": HEADER + b"o1,1,credit_card,2,10.5\r",
    "bad_fields": HEADER + b"o1,1,credit_card,2\no2,1,boleto,1,3\no3,1,x,1,2,9\n",
    # Over pyarrow's 1 MB block: parsed without newlines in values, these raise mid-file.
    "big_quoted_lf": HEADER + b"".join(b'o%d,1,"a\nb",2,10.5\n' % i for i in range(120_000)),
    "big_quoted_cr": HEADER + b"".join(b'o%d,1,"a\rb",2,10.5\n' % i for i in range(120_000)),
}


@pytest.mark.parametrize("name", sorted(CSVS))
def test_parsing_without_newlines_in_values_gives_the_same_frames(name, monkeypatch):
    data = CSVS[name]
    fast = read_text_frame(data, "payments")
    parse = olist_silver._parse

    def always_multiline(*args, **kwargs):
        return parse(*args, **{**kwargs, "multiline": True})

    monkeypatch.setattr(olist_silver, "_parse", always_multiline)
    reference = read_text_frame(data, "payments")
    for got, want in zip(fast, reference, strict=True):
        assert got.equals(want)


@pytest.mark.parametrize(
    ("name", "multiline"),
    [
        ("plain", False),
        ("quoted", False),
        ("crlf", False),
        ("quoted_lf", True),
        ("quoted_cr", True),
        ("cr_then_crlf", True),
        ("cr_at_the_end", True),
    ],
)
def test_the_splitter_says_when_a_line_break_sits_inside_quotes(name, multiline):
    assert split_records(CSVS[name], "payments.csv").multiline is multiline


def test_dedupe_keeps_the_same_rows_in_the_same_order_as_unique():
    frame = pl.DataFrame(
        {
            ROW: range(1, 13),
            "lat": [
                None,
                None,
                float("nan"),
                float("nan"),
                0.0,
                -0.0,
                1.0,
                1.0,
                None,
                2.0,
                2.0,
                1.0,
            ],
            "city": [None, None, "x", "x", "y", "y", None, "z", None, "q", "q", "z"],
        }
    )
    for sample in (frame, frame.reverse(), frame.head(0), frame.select(ROW, "city")):
        columns = [c for c in sample.columns if c != ROW]
        expected = sample.unique(subset=columns, keep="first", maintain_order=True)
        deduped, removed = _dedupe(sample)
        assert deduped.equals(expected)
        assert removed == sample.height - expected.height


@pytest.mark.parametrize("key", [("id",), ("id", "city"), ("city",), ("unique",)])
def test_dedupe_by_a_key_removes_what_dedupe_by_every_column_removes(key):
    """With the dataset's key, rows are compared whole only when a key repeats: the same rows
    go, in the same order, whether the key repeats (with equal or different rows) or not."""
    frame = pl.DataFrame(
        {
            ROW: range(1, 10),
            "id": [1, 2, 3, 3, 4, 5, 5, None, None],
            "city": ["a", "b", "c", "c", "d", "e", "f", None, None],
            "lat": [0.5, 1.0, 2.0, 2.0, None, 3.0, 3.0, None, None],
            "unique": range(9),
        }
    )
    for sample in (frame, frame.reverse(), frame.drop("unique"), frame.head(0)):
        if not set(key) <= set(sample.columns):
            continue
        expected, removed = _dedupe(sample)
        deduped, removed_by_key = _dedupe(sample, key)
        assert deduped.equals(expected) and removed_by_key == removed
    same, removed = _dedupe(frame, ("unique",))  # no key repeats: nothing is compared
    assert same is frame and removed == 0
    assert _dedupe(frame.drop("unique"), ("id",))[1] == 2  # rows 4 and 9
