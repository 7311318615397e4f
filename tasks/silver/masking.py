"""PII masking policy: declarative, per dataset and column, applied before silver is written.

Methods
- keep: leave the value (public or needed for BI, e.g. the state)
- static: replace every value with a literal (`[CIDADE_REMOVIDA_LGPD]`)
- keyed_hash: HMAC-SHA256 hex of the value with the masking key
- pseudonym: a stable 32-hex HMAC token, so the same person joins across tables and runs
- generalise: keep the first N characters (zip prefix `01037` -> `010`)
- drop: remove the column
- scrub: free text with e-mails, phone numbers and CPF/CNPJ replaced by tags

Presets: `seed` reproduces the seed project's rules (city -> static, state -> keyed hash) and
`default` is LGPD-minded but still useful for BI.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

Method = Literal["keep", "static", "keyed_hash", "pseudonym", "generalise", "drop", "scrub"]
CITY_REMOVED = "[CIDADE_REMOVIDA_LGPD]"
PSEUDONYM_LENGTH = 32

# Order matters: CNPJ before CPF before phone (their digit runs overlap).
SCRUB_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", "[EMAIL]"),
    (r"\b\d{2}\.?\d{3}\.?\d{3}/?\d{4}-?\d{2}\b", "[CNPJ]"),
    (r"\b\d{3}\.?\d{3}\.?\d{3}-?\d{2}\b", "[CPF]"),
    (r"(?:\+?55\s?)?(?:\(?\d{2}\)?\s?)?9?\d{4}[-\s]?\d{4}\b", "[TELEFONE]"),
)
PII_IN_TEXT = "|".join(f"(?:{pattern})" for pattern, _ in SCRUB_PATTERNS)
# Every pattern above needs an "@" (e-mail) or three digits in a row (CPF and CNPJ groups,
# phone numbers): a value with neither holds nothing they match, before or after another
# pattern's tag went in. The patterns (dear: `\b` keeps polars' regex off its fast engine)
# run only on the values this scan finds (10x reviews: 0.03 s against 0.45 s a pass).
# `\d` is Unicode here as in the patterns; tests/tasks/silver/test_masking.py holds the rule.
MAY_HOLD_PII = r"@|\d{3}"


@dataclass(frozen=True)
class ColumnRule:
    method: Method
    literal: str | None = None  # for static
    keep_chars: int = 3  # for generalise


@dataclass(frozen=True)
class MaskingPolicy:
    name: str
    rules: Mapping[str, Mapping[str, ColumnRule]] = field(default_factory=dict)

    def for_dataset(self, dataset: str) -> Mapping[str, ColumnRule]:
        return self.rules.get(dataset, {})

    def shared_columns(self) -> frozenset[tuple[str, Method]]:
        """(column, method) masked alike in more than one dataset (orders' and customers'
        `customer_id`): `apply_masking` keeps such a column's tokens for the next dataset."""
        uses = Counter(
            (column, rule.method) for rules in self.rules.values() for column, rule in rules.items()
        )
        return frozenset(use for use, n in uses.items() if n > 1)


_PSEUDONYM = ColumnRule("pseudonym")
_SCRUB = ColumnRule("scrub")

PRESETS: dict[str, MaskingPolicy] = {
    "default": MaskingPolicy(
        "default",
        {
            "customers": {
                "customer_id": _PSEUDONYM,
                "customer_unique_id": _PSEUDONYM,
                "customer_city": ColumnRule("static", CITY_REMOVED),
                "customer_zip_code_prefix": ColumnRule("generalise", keep_chars=3),
                "customer_state": ColumnRule("keep"),
            },
            "orders": {"customer_id": _PSEUDONYM},
            "reviews": {"review_comment_title": _SCRUB, "review_comment_message": _SCRUB},
            # City names next to 5-digit zips locate people (many sellers are individuals);
            # BI works at state level, so silver keeps zip and state and drops the names.
            "sellers": {"seller_city": ColumnRule("drop")},
            "geolocation": {"geolocation_city": ColumnRule("drop")},
        },
    ),
    "seed": MaskingPolicy(
        "seed",
        {
            "customers": {
                "customer_city": ColumnRule("static", CITY_REMOVED),
                "customer_state": ColumnRule("keyed_hash"),
            },
        },
    ),
}


def get_policy(name: str) -> MaskingPolicy:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(
            f"Unknown masking policy {name!r}; choose one of {', '.join(PRESETS)}."
        ) from None


def keyed_hash(value: str, key: bytes) -> str:
    return hmac.digest(key, value.encode(), "sha256").hex()


def pseudonym(value: str, key: bytes) -> str:
    # Domain-separated from keyed_hash so a pseudonym never equals a column's keyed hash.
    return hmac.digest(key, b"pseudonym:" + value.encode(), "sha256").hex()[:PSEUDONYM_LENGTH]


@dataclass(frozen=True)
class MaskingReport:
    dataset: str
    policy: str
    columns: dict[str, str]  # column -> method
    rows: int
    values_changed: int  # cells whose value the policy replaced

    @property
    def compliance(self) -> str:
        methods = set(self.columns.values())
        return (
            "LGPD_PSEUDONYMIZED"
            if methods & {"pseudonym", "keyed_hash"}
            else ("LGPD_ANONYMIZED" if methods - {"keep"} else "LGPD_NA")
        )


# (value, token) frames for one key: by method (values that repeat, `_hmac_column`), and by
# "method:column" (ids masked alike in several datasets, `_shared_ids`).
TokenCache = dict[str, pl.DataFrame]

_PREFIXES = {"keyed_hash": b"", "pseudonym": b"pseudonym:"}
_LENGTHS = {"keyed_hash": 64, "pseudonym": PSEUDONYM_LENGTH}
_BLOCK = 64  # SHA-256 block size (RFC 2104's B)
# Datasets are built in threads; the cache's read-compute-extend step must not interleave.
_CACHE_LOCK = threading.Lock()
# Values sampled to tell an id column (mostly distinct) from a repeating one (`_hmac_column`).
_DISTINCT_SAMPLE = 10_000


def hmac_token_series(values: pl.Series, key: bytes, method: str) -> pl.Series:
    """`keyed_hash` or `pseudonym` of every value of a String series (nulls stay null).

    RFC 2104 over hashlib: the inner and outer pads are hashed once and their SHA-256 states
    copied per value, and the hex encoding is done by polars over all digests at once. Two
    C-level copies per value cost about half of `hmac` objects' Python-level `copy()`
    (docs/performance.md); tests pin every token against `hmac.digest` for any key length.
    """
    padded = (hashlib.sha256(key).digest() if len(key) > _BLOCK else key).ljust(_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded) + _PREFIXES[method])
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
    new_inner, new_outer = inner.copy, outer.copy
    digests = []
    append = digests.append
    for value in values.cast(pl.Binary).to_list():
        if value is None:
            append(None)
            continue
        state = new_inner()
        state.update(value)
        final = new_outer()
        final.update(state.digest())
        append(final.digest())
    hexed = pl.Series(values.name, digests, dtype=pl.Binary).bin.encode("hex")
    return hexed.str.slice(0, _LENGTHS[method])


def _hmac_column(
    series: pl.Series, key: bytes, method: str, cache: TokenCache, shared: bool = False
) -> pl.Series:
    """HMAC every value of an id column; HMAC each distinct value of any other column once
    (shared across tables through `cache`) and join the tokens back.

    Looking a million ids up in a token table (`unique`, `is_in` and a join on strings) costs
    more than hashing them again, so values that rarely repeat are hashed directly; the first
    `_DISTINCT_SAMPLE` values tell which kind a column is. Both ways give the same tokens.
    An id column masked alike in several datasets (`shared`) goes by `_shared_ids`.
    """
    head = series.head(_DISTINCT_SAMPLE)
    if head.n_unique() * 2 > head.len():
        if shared:
            return _shared_ids(series, key, method, cache)
        return hmac_token_series(series, key, method)
    distinct = series.drop_nulls().unique()
    with _CACHE_LOCK:
        known = cache.get(method)
        if known is not None:
            distinct = distinct.filter(~distinct.is_in(known["value"].implode()))
        fresh = pl.DataFrame(
            {"value": distinct, "token": hmac_token_series(distinct, key, method)},
            schema={"value": pl.String, "token": pl.String},
        )
        known = fresh if known is None else pl.concat([known, fresh])
        cache[method] = known
    joined = series.to_frame("value").join(known, on="value", how="left", maintain_order="left")
    return joined["token"]


def _shared_ids(series: pl.Series, key: bytes, method: str, cache: TokenCache) -> pl.Series:
    """The tokens of an id column that another dataset masks alike: the first dataset to get
    here hashes its ids and keeps them with their tokens in `cache`; a later one joins its ids
    to them (polars, in parallel, without the GIL) and hashes only the ids not found. Orders'
    and customers' `customer_id` at 10x: one of the two million HMACs (0.6 s holding the GIL)
    becomes a join (0.13 s). Datasets built at once may both hash: the tokens are the same."""
    name = f"{method}:{series.name}"
    with _CACHE_LOCK:
        known = cache.get(name)
    if known is None:
        tokens = hmac_token_series(series, key, method)
        table = pl.DataFrame({"value": series, "token": tokens}).drop_nulls("value")
        with _CACHE_LOCK:
            cache.setdefault(name, table.unique("value"))
        return tokens
    found = series.to_frame("value").join(known, on="value", how="left", maintain_order="left")
    tokens = found["token"].alias(series.name).clone()
    missing = tokens.is_null() & series.is_not_null()
    if missing.any():
        tokens.scatter(missing.arg_true(), hmac_token_series(series.filter(missing), key, method))
    return tokens


def _masked_column(
    frame: pl.DataFrame,
    column: str,
    rule: ColumnRule,
    key: bytes,
    cache: TokenCache,
    shared: bool = False,
) -> pl.Series:
    series = frame[column].cast(pl.String)
    if rule.method == "static":
        return pl.Series(column, [rule.literal] * frame.height, dtype=pl.String).set_sorted()
    if rule.method in ("keyed_hash", "pseudonym"):
        return _hmac_column(series, key, rule.method, cache, shared).alias(column)
    if rule.method == "generalise":
        return series.str.zfill(5).str.slice(0, rule.keep_chars).alias(column)
    if rule.method == "scrub":
        return _scrubbed(series).alias(column)
    raise ValueError(f"masking method {rule.method!r} has no column transform")


def _scrubbed(series: pl.Series) -> pl.Series:
    """Each `SCRUB_PATTERNS` match replaced by its tag, pattern after pattern, in the values
    that may hold one (`MAY_HOLD_PII`); every other value is returned as it is."""
    candidates = series.str.contains(MAY_HOLD_PII).fill_null(False)
    if not candidates.any():
        return series
    scrubbed = series.filter(candidates)
    for pattern, tag in SCRUB_PATTERNS:
        scrubbed = scrubbed.str.replace_all(pattern, tag)
    result = series.clone()
    result.scatter(candidates.arg_true(), scrubbed)
    return result


def apply_masking(
    frame: pl.DataFrame,
    dataset: str,
    policy: MaskingPolicy,
    key: bytes,
    cache: TokenCache | None = None,
) -> tuple[pl.DataFrame, MaskingReport]:
    """Mask `frame` per the policy's rules for `dataset`; report counts, never values.

    Pass one `cache` (a dict) to several calls with the same key to HMAC each id only once.
    """
    cache = {} if cache is None else cache
    rules = policy.for_dataset(dataset)
    missing = [column for column in rules if column not in frame.columns]
    if missing:
        raise ValueError(
            f"Masking policy {policy.name!r} names missing {dataset} column(s) {missing}"
        )
    changed = 0
    shared_columns = policy.shared_columns()
    replacements: list[pl.Series] = []
    dropped: list[str] = []
    for column, rule in rules.items():
        if rule.method == "keep":
            continue
        if rule.method == "drop":
            dropped.append(column)
            changed += frame[column].is_not_null().sum()
            continue
        shared = (column, rule.method) in shared_columns
        masked = _masked_column(frame, column, rule, key, cache, shared)
        original = frame[column].cast(pl.String)
        changed += int((original.ne_missing(masked)).sum())
        replacements.append(masked)
    masked_frame = frame.with_columns(replacements).drop(dropped)
    report = MaskingReport(
        dataset, policy.name, {c: r.method for c, r in rules.items()}, frame.height, changed
    )
    return masked_frame, report


def text_has_pii(column: str) -> pl.Expr:
    """True where a free-text column still holds an e-mail, phone, CPF or CNPJ."""
    return pl.col(column).fill_null("").str.contains(PII_IN_TEXT)


def text_may_hold_pii(column: str) -> pl.Expr:
    """False where a free-text column holds nothing `text_has_pii` could find (a cheap scan:
    filter by it first, then look with `text_has_pii`)."""
    return pl.col(column).str.contains(MAY_HOLD_PII).fill_null(False)


def resolve_masking_key(settings) -> tuple[bytes, str]:
    """The HMAC key and where it came from: the named masking-key block, else the keyring.

    The keyring-derived key keeps pseudonyms stable across runs on one machine with nothing
    configured; a team shares pseudonyms by saving one key: `cofre secrets set masking-key`.
    """
    if settings.masking_key_block:
        from blocks.secrets.credentials import MaskingKey

        block = MaskingKey.require(settings.masking_key_block)
        return block.reveal("key").encode(), f"block {block.label}"
    from blocks.secrets.keyring import ensure_keyring

    keyring = ensure_keyring(settings)
    derived = hmac.new(keyring.audit_key, b"cofre-masking-key-v1", hashlib.sha256).digest()
    return derived, f"derived from the keyring at {keyring.source}"
