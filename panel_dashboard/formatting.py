"""Numbers, money, dates and sizes the way a Brazilian reader writes them.

pt-BR groups thousands with dots and uses a decimal comma: `brl(1234.56) == "R$ 1.234,56"`,
`integer(99441) == "99.441"`, `percent(0.9312) == "93,1%"`. Missing values show as an em dash.
Formatting is done by hand rather than with `locale`, whose pt_BR data may not be installed
and which is process-global (unsafe with several dashboard sessions in one server).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

MISSING = "—"
MONTHS_PT = ("jan", "fev", "mar", "abr", "mai", "jun", "jul", "ago", "set", "out", "nov", "dez")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _missing(value: float | int | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: float | int | None, decimals: int = 0, language: str = "pt") -> str:
    """`number(1234567.891, 2) == "1.234.567,89"` (English: "1,234,567.89"); negative numbers
    keep their sign."""
    if _missing(value):
        return MISSING
    # Half-up on the decimal the reader sees (str), not on the binary float: 2.675 -> 2,68.
    rounded = Decimal(str(abs(value))).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)
    text = f"{rounded:,.{decimals}f}"  # 1,234,567.89
    if language != "en":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    negative = value < 0 and text.strip("0.,") != ""
    return f"-{text}" if negative else text


def integer(value: float | int | None, language: str = "pt") -> str:
    """`integer(99441) == "99.441"` (English: "99,441")."""
    return number(value, 0, language)


def brl(value: float | int | None, language: str = "pt") -> str:
    """Brazilian reais: `brl(1234.56) == "R$ 1.234,56"`, `brl(-5) == "-R$ 5,00"` (English:
    "R$ 1,234.56")."""
    if _missing(value):
        return MISSING
    text = number(abs(value), 2, language)
    return f"-R$ {text}" if value < 0 and text.strip("0.,") != "" else f"R$ {text}"


COMPACT = {
    "pt": ((1e9, " bi"), (1e6, " mi"), (1e3, " mil")),
    "en": ((1e9, "B"), (1e6, "M"), (1e3, "k")),
}


def brl_compact(value: float | int | None, language: str = "pt") -> str:
    """Short money for chart axes: `R$ 1,2 mi`, `R$ 950,3 mil`, `R$ 12,00`; in English
    `R$ 1.2M`, `R$ 950.3k`, `R$ 12.00`."""
    if _missing(value):
        return MISSING
    for scale, suffix in COMPACT[language if language in COMPACT else "pt"]:
        if abs(value) >= scale:
            return f"R$ {number(value / scale, 1, language)}{suffix}"
    return brl(value, language)


def percent(share: float | None, decimals: int = 1, language: str = "pt") -> str:
    """A share (0..1) as a percentage: `percent(0.9312) == "93,1%"` (English: "93.1%")."""
    if _missing(share):
        return MISSING
    return f"{number(share * 100, decimals, language)}%"


def decimal(value: float | None, decimals: int = 2, language: str = "pt") -> str:
    """`decimal(4.0867) == "4,09"` (scores, days; English: "4.09")."""
    return number(value, decimals, language)


def day(value: date | datetime | None) -> str:
    """`day(date(2017, 1, 5)) == "05/01/2017"`."""
    return MISSING if value is None else value.strftime("%d/%m/%Y")


def timestamp(value: datetime | None) -> str:
    """`05/01/2017 10:00` (minutes; the zone is the caller's business)."""
    return MISSING if value is None else value.strftime("%d/%m/%Y %H:%M")


def month(value: date | None, language: str = "pt") -> str:
    """`month(date(2017, 1, 1)) == "jan/2017"` (English: "Jan 2017")."""
    if value is None:
        return MISSING
    if language == "en":
        return f"{MONTHS_EN[value.month - 1]} {value.year}"
    return f"{MONTHS_PT[value.month - 1]}/{value.year}"


def size(value: int | None, language: str = "pt") -> str:
    """Bytes in binary units: `size(1536) == "1,5 KiB"` (English: "1.5 KiB")."""
    if value is None:
        return MISSING
    amount, unit = float(value), "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(amount) < 1024 or unit == "TiB":
            break
        amount /= 1024
    if unit == "B":
        return f"{integer(value, language)} B"
    return f"{number(amount, 1, language)} {unit}"


def seconds(value: float | None, language: str = "pt") -> str:
    """`seconds(3720) == "3.720,0 s"` (English: "3,720.0 s")."""
    return MISSING if _missing(value) else f"{number(value, 1, language)} s"


def counted(value: int | None, one: str, many: str, language: str = "pt") -> str:
    """A count and its noun, singular for exactly one: `counted(1, "pedido", "pedidos") ==
    "1 pedido"`, `counted(2000, "pedido", "pedidos") == "2.000 pedidos"` (zero is plural in
    both languages: "0 pedidos", "0 orders")."""
    if _missing(value):
        return f"{MISSING} {many}"
    return f"{integer(value, language)} {one if value == 1 else many}"
