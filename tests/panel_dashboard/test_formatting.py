"""pt-BR and English formatting: money, thousands, percentages, dates, sizes, counts."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from panel_dashboard import formatting as fmt
from panel_dashboard.labels import NOUNS, counted


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1234.56, "R$ 1.234,56"),
        (0, "R$ 0,00"),
        (0.005, "R$ 0,01"),
        (2.675, "R$ 2,68"),
        (16008872.12, "R$ 16.008.872,12"),
        (-5, "-R$ 5,00"),
        (-0.001, "R$ 0,00"),
        (None, "—"),
        (float("nan"), "—"),
    ],
)
def test_brl_writes_reais_with_dot_thousands_and_decimal_comma(value, expected):
    assert fmt.brl(value) == expected


def test_integers_group_thousands_with_dots():
    assert fmt.integer(99441) == "99.441"
    assert fmt.integer(1_000_163) == "1.000.163"
    assert fmt.integer(7) == "7"
    assert fmt.integer(-1200) == "-1.200"


def test_percentages_and_decimals_use_a_comma():
    assert fmt.percent(0.9312) == "93,1%"
    assert fmt.percent(1.0, 0) == "100%"
    assert fmt.percent(None) == "—"
    assert fmt.decimal(4.0867) == "4,09"
    assert fmt.number(1234567.891, 2) == "1.234.567,89"


def test_compact_money_for_chart_labels():
    assert fmt.brl_compact(1_234_567) == "R$ 1,2 mi"
    assert fmt.brl_compact(950_300) == "R$ 950,3 mil"
    assert fmt.brl_compact(12) == "R$ 12,00"


def test_dates_months_sizes_and_seconds():
    assert fmt.day(date(2017, 1, 5)) == "05/01/2017"
    assert fmt.timestamp(datetime(2017, 1, 5, 10, 7)) == "05/01/2017 10:07"
    assert fmt.month(date(2017, 3, 1)) == "mar/2017"
    assert fmt.month(date(2017, 3, 1), "en") == "Mar 2017"
    assert fmt.size(500) == "500 B"
    assert fmt.size(1536) == "1,5 KiB"
    assert fmt.size(3 * 1024**3) == "3,0 GiB"
    assert fmt.seconds(75.25) == "75,3 s"


def test_the_english_view_writes_numbers_the_english_way():
    assert fmt.brl(1234.56, "en") == "R$ 1,234.56"
    assert fmt.integer(99441, "en") == "99,441"
    assert fmt.percent(0.9312, 1, "en") == "93.1%"
    assert fmt.brl_compact(30_000, "en") == "R$ 30.0k"
    assert fmt.brl_compact(1_234_567, "en") == "R$ 1.2M"
    assert fmt.brl_compact(30_000) == "R$ 30,0 mil"
    assert fmt.seconds(3720, "en") == "3,720.0 s"
    assert fmt.seconds(3720) == "3.720,0 s"
    assert fmt.size(3 * 1024**3, "en") == "3.0 GiB"


@pytest.mark.parametrize(
    ("count", "noun", "language", "expected"),
    [
        (1, "order", "pt", "1 pedido"),
        (2000, "order", "pt", "2.000 pedidos"),
        (0, "order", "pt", "0 pedidos"),
        (1, "order", "en", "1 order"),
        (2000, "order", "en", "2,000 orders"),
        (0, "file", "en", "0 files"),
        (1, "file", "en", "1 file"),
        (1, "bronze_file", "pt", "1 arquivo bronze"),
        (1, "table", "en", "1 table"),
        (1, "state_day", "pt", "1 dia-estado"),
        (1234, "row", "en", "1,234 rows"),
        (1, "object", "pt", "1 objeto"),
    ],
)
def test_counts_agree_with_their_noun_in_each_language(count, noun, language, expected):
    assert counted(count, noun, language) == expected


def test_every_noun_has_a_singular_and_a_plural_in_both_languages():
    assert NOUNS["pt"].keys() == NOUNS["en"].keys()
    assert all(
        len(forms) == 2 and all(forms) for nouns in NOUNS.values() for forms in nouns.values()
    )
