"""Uniqueness answered by a count first (validation/unique.py): same failures as Pandera's own
checks, and Pandera's duplicate search skipped only when no key repeats."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
import pytest
from pandera.backends.polars.components import ColumnBackend
from pandera.errors import SchemaErrors

from validation.gold_schemas import GOLD_SCHEMAS
from validation.schemas import OLIST_SCHEMAS, SOURCE_SCHEMAS
from validation.unique import unique_keys, validate, without_unique

SCHEMA = pa.DataFrameSchema(
    {
        "id": pa.Column(pl.String, nullable=True, unique=True),
        "a": pa.Column(pl.Int64, pa.Check.ge(0), nullable=True),
        "b": pa.Column(pl.String, nullable=True),
    },
    unique=["a", "b"],
    strict=True,
    name="sample",
)


def _cases(schema: pa.DataFrameSchema, frame: pl.DataFrame, how) -> pl.DataFrame | None:
    try:
        how(schema, frame)
    except SchemaErrors as errors:
        return errors.failure_cases.sort(pl.all(), nulls_last=True)
    return None


def _pandera(schema: pa.DataFrameSchema, frame: pl.DataFrame) -> None:
    schema.validate(frame, lazy=True)


@pytest.mark.parametrize(
    "frame",
    [
        pl.DataFrame({"id": ["x", "y", "z"], "a": [1, 2, 3], "b": ["p", "q", "r"]}),
        pl.DataFrame({"id": ["x", "y", "z"], "a": [1, -2, 3], "b": ["p", "q", "r"]}),  # a check
        pl.DataFrame({"id": ["x", "x", "z"], "a": [1, -2, 3], "b": ["p", "q", "r"]}),  # id twice
        pl.DataFrame({"id": [None, None, "z"], "a": [1, 2, 3], "b": ["p", "q", "r"]}),  # 2 nulls
        pl.DataFrame({"id": [None, "y", "z"], "a": [1, 2, 3], "b": ["p", "q", "r"]}),  # 1 null
        pl.DataFrame({"id": ["x", "y", "z"], "a": [1, 1, 3], "b": ["p", "p", "r"]}),  # pair twice
        pl.DataFrame({"id": ["x", "y", "z"], "a": [None, None, 3], "b": ["p", "p", "r"]}),
        pl.DataFrame({"id": ["x", "y"], "a": [1, 2]}),  # a key column missing
        pl.DataFrame(schema={"id": pl.String, "a": pl.Int64, "b": pl.String}),  # no rows
    ],
)
def test_failures_are_pandera_s_own(frame):
    ours, theirs = _cases(SCHEMA, frame, validate), _cases(SCHEMA, frame, _pandera)
    assert (ours is None) == (theirs is None)
    if ours is not None:
        assert ours.equals(theirs)


def test_a_repeated_key_is_still_reported_with_its_rows():
    frame = pl.DataFrame({"id": ["x", "x", "z"], "a": [1, 2, 3], "b": ["p", "q", "r"]})
    cases = _cases(SCHEMA, frame, validate)
    assert cases is not None
    duplicates = cases.filter(pl.col("check") == "field_uniqueness")
    assert duplicates["index"].to_list() == [0, 1]


def test_pandera_s_duplicate_search_runs_only_when_a_key_repeats(monkeypatch):
    searched: list[bool] = []
    original = ColumnBackend.check_unique

    def spy(self, check_obj, schema):
        searched.append(bool(schema.unique))
        return original(self, check_obj, schema)

    monkeypatch.setattr(ColumnBackend, "check_unique", spy)
    validate(SCHEMA, pl.DataFrame({"id": ["x", "y"], "a": [1, 2], "b": ["p", "q"]}))
    assert not any(searched)
    with pytest.raises(SchemaErrors):
        validate(SCHEMA, pl.DataFrame({"id": ["x", "x"], "a": [1, 2], "b": ["p", "q"]}))
    assert any(searched)


@pytest.mark.parametrize(
    "schema", [*OLIST_SCHEMAS.values(), *SOURCE_SCHEMAS.values(), *GOLD_SCHEMAS.values()],
    ids=lambda s: s.name,
)  # fmt: skip
def test_the_copy_drops_only_uniqueness(schema):
    stripped = without_unique(schema)
    assert unique_keys(schema) and not unique_keys(stripped)
    assert stripped is without_unique(schema)  # made once
    assert (stripped.name, stripped.strict, stripped.ordered) == (
        schema.name, schema.strict, schema.ordered)  # fmt: skip
    assert [c.name for c in stripped.checks] == [c.name for c in schema.checks]
    for name, column in schema.columns.items():
        copy = stripped.columns[name]
        assert (copy.dtype, copy.nullable, [c.name for c in copy.checks]) == (
            column.dtype, column.nullable, [c.name for c in column.checks])  # fmt: skip


def _ordered(n: int) -> pl.DataFrame:
    """Rows in key order (as gold writes them): ids and (a, b) strictly increasing."""
    return pl.DataFrame(
        {
            "id": [f"k{i:06d}" for i in range(n)],
            "a": [i // 3 for i in range(n)],
            "b": [f"b{i % 3}" for i in range(n)],
        }
    )


@pytest.mark.parametrize(
    "change",
    [
        None,  # every key in order: no repeat, found without counting
        lambda f: f.with_columns(pl.col("id").replace("k002000", "k001999")),  # past the probe
        lambda f: f.with_columns(pl.col("b").replace("b1", "b0")),  # (a, b) pairs repeat
        lambda f: f.with_columns(
            pl.when(pl.col("a") == 5).then(None).otherwise(pl.col("a")).alias("a")
        ),
        lambda f: f.with_columns(pl.col("id").replace({"k000010": None, "k000011": None})),
        lambda f: f.with_columns(pl.col("id").replace("k003000", None)),  # one null: unique
        lambda f: f.reverse(),  # unique, in no increasing order: counted
    ],
    ids=[
        "ordered",
        "repeat-after-probe",
        "pair-repeats",
        "null-in-pair",
        "two-nulls",
        "one-null",
        "reversed",
    ],
)
def test_a_frame_in_key_order_gets_pandera_s_verdict(change):
    frame = _ordered(4000) if change is None else change(_ordered(4000))
    ours, theirs = _cases(SCHEMA, frame, validate), _cases(SCHEMA, frame, _pandera)
    assert (ours is None) == (theirs is None)
    if ours is not None:
        assert ours.equals(theirs)
    if change is None:
        assert ours is None


def _spy_counts(monkeypatch) -> tuple[list[int], list[int]]:
    """(exact key counts, row-hash proofs) that `validate` makes from now on."""
    import validation.unique as unique

    counted: list[int] = []
    hashed: list[int] = []
    count, prove = pl.Expr.n_unique, unique.distinct_by_hash

    def spy_count(self):
        counted.append(1)
        return count(self)

    def spy_prove(frame, columns):
        hashed.append(1)
        return prove(frame, columns)

    monkeypatch.setattr(pl.Expr, "n_unique", spy_count)
    monkeypatch.setattr(unique, "distinct_by_hash", spy_prove)
    return counted, hashed


def test_a_frame_in_key_order_skips_the_count(monkeypatch):
    counted, hashed = _spy_counts(monkeypatch)
    validate(SCHEMA, _ordered(4000))
    assert counted == [] and hashed == []
    validate(SCHEMA, _ordered(4000).reverse())  # unique, but in no key order: hashed
    assert hashed and counted == []


def test_a_key_the_hashes_cannot_prove_is_counted(monkeypatch):
    """A repeat (or hashes that collide) leaves the proof to the exact count: Pandera's
    verdict either way."""
    counted, hashed = _spy_counts(monkeypatch)
    frame = _ordered(4000).reverse()
    repeated = pl.concat([frame, frame.head(1)])
    assert _cases(SCHEMA, repeated, validate) is not None
    assert hashed and counted
    monkeypatch.setattr("validation.unique.distinct_by_hash", lambda frame, columns: False)
    counted.clear()
    assert _cases(SCHEMA, frame, validate) is None  # as if two hashes collided
    assert counted


@pytest.mark.parametrize(
    ("frame", "columns", "proved"),
    [
        (pl.DataFrame({"k": ["a", "b", "c"]}), ["k"], True),
        (pl.DataFrame({"k": ["a", "b", "a"]}), ["k"], False),
        (pl.DataFrame({"k": ["a", None, "c"]}), ["k"], True),  # one null: one value
        (pl.DataFrame({"k": [None, None, "c"]}), ["k"], False),  # two nulls repeat
        (pl.DataFrame({"k": ["a", "a", "b"], "n": [1, 2, 1]}), ["k", "n"], True),
        (pl.DataFrame({"k": ["a", "a", "b"], "n": [1, 1, 1]}), ["k", "n"], False),
        (pl.DataFrame({"x": [0.0, -0.0, 1.0]}), ["x"], False),  # floats: never by hash
        (pl.DataFrame({"k": ["a"]}), ["k"], True),
        (pl.DataFrame(schema={"k": pl.String}), ["k"], True),
    ],
)
def test_distinct_hashes_prove_distinct_keys(frame, columns, proved):
    from validation.unique import distinct_by_hash

    assert distinct_by_hash(frame, columns) is proved
    if proved:  # never a proof of what the exact count denies
        assert frame.select(columns).is_duplicated().sum() == 0
