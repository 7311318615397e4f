"""The landing every external source shares: each payload in bronze as it is served, the
bronze rows and one parsed frame back, and what landed before a bad payload kept."""

from __future__ import annotations

import polars as pl
import pytest

from blocks.errors import InvalidSourceData
from blocks.lake import Lake
from tasks.bronze import list_manifests
from tasks.sources.external import Payload, land_payloads

SCHEMA = {"n": pl.Int64}


def parse_number(data: bytes) -> pl.DataFrame:
    if not data.isdigit():
        raise InvalidSourceData(f"test/numbers: not a number: {data!r}")
    return pl.DataFrame({"n": [int(data)]}, schema=SCHEMA)


def payloads(*bodies: bytes) -> list[Payload]:
    return [
        Payload(filename=f"part={i}/n.txt", data=body, parse=parse_number, extra={"part": i})
        for i, body in enumerate(bodies)
    ]


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake.from_url(str(tmp_path / "lake"))


def test_each_payload_lands_with_its_row_and_the_frames_come_back_as_one(lake):
    objects, frame = land_payloads(
        lake,
        source="test",
        dataset="numbers",
        run_id="r1",
        payloads=payloads(b"1", b"2"),
        schema=SCHEMA,
    )
    assert frame["n"].to_list() == [1, 2]
    assert [(row["rows"], row["written"], row["valid"]) for row in objects] == [(1, True, True)] * 2
    assert sorted(m.extra["part"] for m in list_manifests(lake, "test", "numbers")) == [0, 1]


def test_nothing_served_is_an_empty_frame_of_the_schema(lake):
    objects, frame = land_payloads(
        lake, source="test", dataset="numbers", run_id="r1", payloads=[], schema=SCHEMA
    )
    assert objects == [] and frame.is_empty() and frame.schema == SCHEMA


def test_a_bad_payload_is_kept_invalid_after_the_good_ones_before_it(lake):
    with pytest.raises(InvalidSourceData, match="not a number"):
        land_payloads(
            lake,
            source="test",
            dataset="numbers",
            run_id="r1",
            payloads=payloads(b"7", b"<html>"),
            schema=SCHEMA,
        )
    manifests = sorted(list_manifests(lake, "test", "numbers"), key=lambda m: m.extra["part"])
    assert [m.valid for m in manifests] == [True, False]
