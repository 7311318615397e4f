"""Synthetic Olist reviews: the real score mix, text with CSV-hostile characters, shared ids.

Low scores go more often to late, canceled or itemless orders; the text comes from
`synthetic_text.review_texts`.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from tasks.sources.olist.synthetic_draws import (
    DAY,
    allocate,
    hex_ids,
    scaled_count,
    timestamps,
)
from tasks.sources.olist.synthetic_orders import STATUSES, Timeline
from tasks.sources.olist.synthetic_text import review_texts

# Real counts (olist.md).
SCORE_MIX = {1: 11_424, 2: 3_151, 3: 8_179, 4: 19_142, 5: 57_328}  # worst first, see review_scores


def review_scores(rng: np.random.Generator, troubled: np.ndarray) -> np.ndarray:
    """The exact real score mix, low scores drawn more often for troubled orders."""
    key = rng.random(troubled.size) + 0.45 * troubled
    scores = np.empty(troubled.size, dtype=np.int64)
    mix = allocate(troubled.size, list(SCORE_MIX.values()))
    scores[np.argsort(-key, kind="stable")] = np.repeat(list(SCORE_MIX), mix)
    return scores


def reviews_frame(
    rng: np.random.Generator,
    order_ids: pl.Series,
    status: np.ndarray,
    has_items: np.ndarray,
    times: Timeline,
) -> pl.DataFrame:
    """~99.2% of orders reviewed, ~0.55% twice, ~0.8% of rows reusing another order's review."""
    n = status.size
    reviewed = rng.choice(n, min(n, scaled_count(n, 98_673)), replace=False)
    twice = rng.choice(reviewed, min(reviewed.size, scaled_count(n, 551, 0)), replace=False)
    order = np.r_[reviewed, twice]
    later = np.r_[np.zeros(reviewed.size), rng.integers(1, 30, twice.size)].astype(np.int64)
    bad = np.isin(status, (STATUSES.index("canceled"), STATUSES.index("unavailable")))
    score = review_scores(rng, (times.late | bad | ~has_items)[order])
    title, message = review_texts(rng, score)
    reference = np.where(times.delivered >= 0, times.delivered, times.estimate)[order]
    created = (reference // DAY + 1 + (rng.random(order.size) < 0.2) + later) * DAY
    answer = np.clip(rng.lognormal(np.log(1.5 * DAY), 1.0, order.size), 60, 120 * DAY)
    frame = pl.DataFrame(
        {
            "review_id": hex_ids(rng, order.size),
            "order_id": order_ids.gather(order),
            "review_score": score,
            "review_comment_title": title,
            "review_comment_message": message,
            "review_creation_date": timestamps(created),
            "review_answer_timestamp": timestamps(created + answer.astype(np.int64)),
        }
    )
    # A shared review copies the next later-purchased order's review, so its dates stay after
    # this order's purchase (the source was bought no earlier).
    by_time = np.argsort(times.purchase[order], kind="stable")
    copies = np.zeros(order.size, dtype=bool)
    copy_count = round(order.size * 814 / 99_224)
    copies[rng.choice(max(order.size - 1, 0), copy_count, replace=False)] = True
    source = np.minimum.accumulate(np.where(copies, order.size, np.arange(order.size))[::-1])[::-1]
    target, source = by_time[copies], by_time[source[copies]]
    keep = order[target] != order[source]
    row = np.arange(order.size)
    row[target[keep]] = source[keep]
    frame = frame.with_columns(pl.all().exclude("order_id").gather(row))
    return frame[rng.permutation(frame.height)]
