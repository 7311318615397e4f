"""Seeded-draw helpers of the synthetic Olist generator: exact mixes, ids, stamps, money.

Every table module draws through these, from one numpy generator, so the same seed gives the
same files. `REAL_ORDER_COUNT` is the real set's size that every count is scaled from.
"""

from __future__ import annotations

import numpy as np
import polars as pl

REAL_ORDER_COUNT = 99_441
DAY = 86_400
_HEX = np.frombuffer(b"".join(b"%02x" % i for i in range(256)), dtype=np.uint8).reshape(256, 2)


def scaled_count(orders: int, real: int, minimum: int = 1) -> int:
    """`real` (a count in the real set) scaled to a set of `orders` orders, at least `minimum`."""
    return max(minimum, round(orders * real / REAL_ORDER_COUNT))


def allocate(total: int, weights: np.ndarray | list[float]) -> np.ndarray:
    """Largest-remainder split of `total` by `weights`: exact mixes even for small sets."""
    quota = total * np.asarray(weights, dtype=float) / np.sum(weights)
    counts = np.floor(quota).astype(np.int64)
    leftovers = np.argsort(-(quota - counts), kind="stable")[: total - counts.sum()]
    counts[leftovers] += 1
    return counts


def shuffled_labels(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    """Label i repeated counts[i] times, in random order."""
    return rng.permutation(np.repeat(np.arange(counts.size), counts))


def draw_from_mix(rng: np.random.Generator, mix: dict[int, int], size: int) -> np.ndarray:
    """`size` values drawn with the mix's weights (value -> real count)."""
    values = np.fromiter(mix, dtype=np.int64)
    weights = np.fromiter(mix.values(), dtype=float)
    return values[rng.choice(values.size, size, p=weights / weights.sum())]


def every_then_popular(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """`size` picks by popularity, with every choice used once when there is room for it."""
    picks = rng.choice(weights.size, size, p=weights / weights.sum())
    head = min(size, weights.size)
    picks[rng.choice(size, head, replace=False)] = rng.permutation(weights.size)[:head]
    return picks


def hex_ids(rng: np.random.Generator, count: int) -> pl.Series:
    """32-char lowercase hex ids (128 random bits each) like the real ones."""
    raw = np.frombuffer(rng.bytes(16 * count), dtype=np.uint8).reshape(count, 16)
    chars = np.ascontiguousarray(_HEX[raw].reshape(count, 32))
    return pl.Series(chars.view("S32").ravel().astype("U32"))


def timestamps(seconds: np.ndarray) -> pl.Series:
    """Epoch seconds -> Datetime; negative seconds mark a missing step (empty CSV field)."""
    series = pl.from_epoch(pl.Series(seconds, dtype=pl.Int64), time_unit="s")
    return series.scatter(np.flatnonzero(seconds < 0), None)


def money(cents: np.ndarray) -> pl.Series:
    """Cents -> Decimal(12, 2), which the CSV writer prints with exactly two decimals."""
    return pl.Series(cents / 100).cast(pl.Decimal(12, 2))


def from_vocabulary(vocabulary: tuple[str, ...], codes: np.ndarray) -> pl.Series:
    """Codes -> the vocabulary's strings."""
    return pl.Series(values=vocabulary).gather(codes)


def epoch_seconds(day: str) -> int:
    """`YYYY-MM-DD` -> epoch seconds at midnight."""
    return int(np.datetime64(day, "s").astype(np.int64))
