"""Synthetic Olist payments: the real type and instalment mix, values that add up to the cent.

Each paid order's payment rows sum to its items' price + freight (plus card interest on a few
instalment plans); one delivered order in the real set was never paid, and so here.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from tasks.sources.olist.synthetic_draws import (
    REAL_ORDER_COUNT,
    allocate,
    draw_from_mix,
    from_vocabulary,
    money,
    shuffled_labels,
)
from tasks.sources.olist.synthetic_orders import STATUSES

# Real counts (olist.md).
PAYMENT_MIX = {"credit_card": 76_795, "boleto": 19_784, "voucher": 5_775, "debit_card": 1_529,
               "not_defined": 3}  # fmt: skip
_CARD_INSTALLMENTS = {0: 2, 1: 25_455, 2: 12_413, 3: 10_461, 4: 7_098, 5: 5_239, 6: 3_920,
                      7: 1_626, 8: 4_268, 9: 644, 10: 5_328, 11: 23, 12: 133, 13: 16, 14: 15,
                      15: 74, 16: 5, 17: 8, 18: 27, 20: 17, 21: 3, 22: 1, 23: 1,
                      24: 18}  # fmt: skip
_PLAN_TYPES = ("credit_card", "voucher", "not_defined")
_PAYMENT_TYPES = tuple(PAYMENT_MIX)


def payment_plan(
    rng: np.random.Generator, status: np.ndarray, has_items: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each order's first payment type (-1: unpaid) and its number of payment rows."""
    n = status.size
    card, voucher, undefined = (_PAYMENT_TYPES.index(t) for t in _PLAN_TYPES)
    delivered = np.flatnonzero((status == STATUSES.index("delivered")) & has_items)
    unpaid_count = min(delivered.size, max(int(n >= 2_000), round(n / REAL_ORDER_COUNT)))
    unpaid = rng.choice(delivered, unpaid_count, replace=False)  # the real set has one
    paid = np.ones(n, dtype=bool)
    paid[unpaid] = False
    payers = int(paid.sum())
    rows = max(payers, round(payers * 103_886 / 99_440))
    counts = allocate(rows, list(PAYMENT_MIX.values()))
    # not_defined (value 0) only on canceled orders, itemless ones first so totals still hold.
    canceled = paid & (status == STATUSES.index("canceled"))
    key = rng.random(n) - canceled - (canceled & ~has_items)
    wanted = min(max(counts[undefined], int(n >= 2_000)), int(canceled.sum()))
    undefined_orders = np.argsort(key, kind="stable")[:wanted]
    extra = min(rows - payers, counts[voucher])  # extra rows are vouchers, as in the real data
    counts[voucher] -= extra
    counts[undefined] = 0
    counts[card] += payers - undefined_orders.size - counts.sum()
    kind = np.full(n, -1)
    kind[undefined_orders] = undefined
    kind[np.flatnonzero(paid & (kind < 0))] = shuffled_labels(rng, counts[:undefined])
    rows_per = paid.astype(np.int64)
    hosts = np.flatnonzero((kind == card) | (kind == voucher))
    several = min(hosts.size, extra, max(1, round(extra * 0.666)))
    if several:
        chosen = rng.choice(hosts, several, replace=False)
        spread = rng.lognormal(0, 1.0, several)
        rows_per[chosen] += 1 + rng.multinomial(extra - several, spread / spread.sum())
    return kind, rows_per


def payments_frame(
    rng: np.random.Generator,
    order_ids: pl.Series,
    plan: tuple[np.ndarray, np.ndarray],
    has_items: np.ndarray,
    totals: np.ndarray,
) -> pl.DataFrame:
    """Payment rows whose values add up, to the cent, to the order's item total (+ interest)."""
    kind, rows_per = plan
    card, voucher = _PAYMENT_TYPES.index("credit_card"), _PAYMENT_TYPES.index("voucher")
    order = np.repeat(np.arange(kind.size), rows_per)
    first = np.repeat(np.cumsum(rows_per) - rows_per, rows_per)
    sequential = np.arange(order.size) - first + 1
    method = np.where(sequential == 1, kind[order], voucher)
    installments = np.where(method == card, draw_from_mix(rng, _CARD_INSTALLMENTS, order.size), 1)
    order_installments = np.zeros(kind.size, dtype=np.int64)
    order_installments[order[sequential == 1]] = installments[sequential == 1]
    # Itemless orders were still charged something; not_defined rows are worth 0.
    due = np.where(has_items, totals, np.rint(rng.lognormal(np.log(9_000), 0.9, kind.size)))
    interest = (kind == card) & (order_installments > 1) & (rng.random(kind.size) < 0.02)
    due = np.where(interest, np.rint(due * rng.uniform(1.01, 1.08, kind.size)), due)
    due = np.where(kind == _PAYMENT_TYPES.index("not_defined"), 0, due).astype(np.int64)
    share = rng.exponential(1.0, order.size) * np.where(sequential == 1, 3.0, 1.0)
    total_share = np.bincount(order, weights=share, minlength=kind.size)[order]
    cents = np.floor(due[order] * share / total_share).astype(np.int64)
    last = np.r_[order[1:] != order[:-1], True]
    paid_so_far = np.rint(np.bincount(order, weights=cents, minlength=kind.size)).astype(np.int64)
    cents[last] += (due - paid_so_far)[order[last]]  # rounding lands on the last row
    frame = pl.DataFrame(
        {
            "order_id": order_ids.gather(order),
            "payment_sequential": sequential,
            "payment_type": from_vocabulary(_PAYMENT_TYPES, method),
            "payment_installments": installments,
            "payment_value": money(cents),
        }
    )
    return frame[rng.permutation(frame.height)]
