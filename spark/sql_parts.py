"""Portable SQL expressions: the pieces every gold model shares, written once, in Spark SQL
that means the same thing on Spark and, translated by sqlglot, on DuckDB.

The two engines silently differ on a few operations (docs/gold.md lists them); these helpers
only use the forms on which they agree:
- money is summed in integer cents (`cents`): a sum of doubles depends on the order rows
  arrive in, a sum of integers does not;
- a ratio of integers is rounded half away from zero in exact integer arithmetic
  (`round_ratio`), not with `round(double, d)`, which Spark applies to the decimal text of the
  double (2.675 -> 2.68) and DuckDB to its binary value (2.67);
- a double is rounded to cents as `round(x * 100) / 100` (`round_cents`): multiplication,
  division and `round(x)` to a whole number agree bit for bit on both engines;
- every window orders with explicit NULLS FIRST/LAST and a total tie-break;
- a division that may meet a zero divides by `NULLIF(divisor, 0)` (Spark 4 raises, DuckDB
  gives Infinity);
- casts to integers are of whole values only (Spark truncates a double, DuckDB rounds it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# The 27 federative units (the same list as validation.schemas.UFS).
UFS = (
    "AC", "AL", "AP", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MT", "MS", "MG", "PA", "PB",
    "PR", "PE", "PI", "RJ", "RN", "RS", "RO", "RR", "SC", "SP", "SE", "TO",
)  # fmt: skip


def quoted(text: str) -> str:
    """A SQL string literal (Spark SQL escapes; sqlglot re-quotes it for DuckDB)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def in_list(column: str, values: Iterable[str]) -> str:
    return f"{column} IN ({', '.join(quoted(v) for v in values)})"


def to_date(column: str) -> str:
    return f"CAST({column} AS DATE)"


def month_start(day: str) -> str:
    """The first day of a DATE's month, as a DATE."""
    return f"CAST(date_trunc('MONTH', {day}) AS DATE)"


def date_key(day: str) -> str:
    """yyyymmdd of a DATE expression as an INT: the join key between facts and `dim_date`."""
    return f"CAST(year({day}) * 10000 + month({day}) * 100 + dayofmonth({day}) AS INT)"


def days_between(later: str, earlier: str) -> str:
    """Whole calendar days from `earlier` to `later` (DATE expressions), as an INT."""
    return f"CAST(datediff({later}, {earlier}) AS INT)"


def cents(column: str) -> str:
    """A BRL amount as whole cents (BIGINT)."""
    return f"CAST(ROUND({column} * 100) AS BIGINT)"


def money_sum(column: str) -> str:
    """Σ column in BRL, exact to the cent (summed as integer cents, divided once)."""
    return f"CAST(SUM({cents(column)}) AS BIGINT) / 100"


def round_ratio(numerator: str, denominator: str, digits: int) -> str:
    """numerator / denominator rounded half away from zero to `digits` decimals, as a DOUBLE;
    null when the denominator is 0 or null. Both must be integer expressions: the rounding is
    exact integer arithmetic, so both engines give the same double (the one nearest the
    correctly rounded decimal, as Spark's `round` gives for these ratios)."""
    scale = 10**digits
    return (
        f"CAST(SIGN({numerator}) * FLOOR((2 * {scale} * ABS({numerator}) + ({denominator}))"
        f" / NULLIF(2 * ({denominator}), 0)) AS DOUBLE) / {scale}"
    )


def round_cents(value: str) -> str:
    """A DOUBLE rounded to 2 decimals the same way on both engines (see the module's note)."""
    return f"ROUND(({value}) * 100) / 100"


def lookup(column: str, mapping: Mapping[object, str], otherwise: str = "NULL") -> str:
    """CASE column WHEN key THEN 'label' ... END, from a Python mapping."""
    whens = " ".join(
        f"WHEN {key if isinstance(key, int) else quoted(str(key))} THEN {quoted(label)}"
        for key, label in mapping.items()
    )
    return f"CASE {column} {whens} ELSE {otherwise} END"


def state_or_null(column: str) -> str:
    """The UF, or null when silver hashed it (the `seed` masking policy keyed-hashes states)."""
    return f"CASE WHEN {in_list(column, UFS)} THEN {column} END"


def sales_totals(fact: str = "") -> str:
    """orders, items, price_total, freight_total, revenue over fact_sales rows."""
    p = f"{fact}." if fact else ""
    return (
        f"COUNT(DISTINCT {p}order_id) AS orders, COUNT(*) AS items, "
        f"{money_sum(p + 'price')} AS price_total, "
        f"{money_sum(p + 'freight_value')} AS freight_total, "
        f"{money_sum(p + 'allocated_payment')} AS revenue"
    )
