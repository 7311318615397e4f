"""Masking policy methods and presets (pure functions)."""

from __future__ import annotations

import polars as pl
import pytest

from tasks.silver.masking import (
    CITY_REMOVED,
    ColumnRule,
    MaskingPolicy,
    apply_masking,
    get_policy,
    keyed_hash,
    pseudonym,
    text_has_pii,
)

KEY, OTHER = b"k" * 32, b"o" * 32
CUSTOMERS = pl.DataFrame(
    {
        "customer_id": ["c1", "c2", "c3"],
        "customer_unique_id": ["u1", "u2", "u1"],
        "customer_zip_code_prefix": ["01037", "22000", "99999"],
        "customer_city": ["são paulo", "rio de janeiro", "são paulo"],
        "customer_state": ["SP", "RJ", "SP"],
    }
)


def test_default_preset_pseudonymises_and_generalises():
    masked, report = apply_masking(CUSTOMERS, "customers", get_policy("default"), KEY)
    assert set(masked["customer_city"]) == {CITY_REMOVED}
    assert masked["customer_zip_code_prefix"].to_list() == ["010", "220", "999"]
    assert masked["customer_state"].to_list() == ["SP", "RJ", "SP"]
    ids = masked["customer_unique_id"].to_list()
    assert ids[0] == ids[2] != ids[1]  # the same person keeps one pseudonym
    assert ids[0] == pseudonym("u1", KEY) and len(ids[0]) == 32 and "u1" not in ids
    assert report.compliance == "LGPD_PSEUDONYMIZED" and report.rows == 3


def test_pseudonyms_are_stable_for_a_key_and_change_with_another():
    a, _ = apply_masking(CUSTOMERS, "customers", get_policy("default"), KEY)
    b, _ = apply_masking(CUSTOMERS, "customers", get_policy("default"), KEY)
    c, _ = apply_masking(CUSTOMERS, "customers", get_policy("default"), OTHER)
    assert a["customer_id"].equals(b["customer_id"])
    assert not set(a["customer_id"]) & set(c["customer_id"])


def test_seed_preset_reproduces_the_seed_rules():
    masked, _ = apply_masking(CUSTOMERS, "customers", get_policy("seed"), KEY)
    assert set(masked["customer_city"]) == {CITY_REMOVED}
    assert masked["customer_state"].to_list() == [keyed_hash(s, KEY) for s in ["SP", "RJ", "SP"]]
    assert masked["customer_id"].to_list() == ["c1", "c2", "c3"]  # the seed kept ids
    assert len(masked["customer_state"][0]) == 64  # HMAC-SHA256 hex, not sha256(value+key)


def test_drop_and_static_methods():
    policy = MaskingPolicy("t", {"customers": {"customer_city": ColumnRule("drop")}})
    masked, report = apply_masking(CUSTOMERS, "customers", policy, KEY)
    assert "customer_city" not in masked.columns and report.values_changed == 3


def test_scrub_replaces_emails_phones_cpf_and_cnpj():
    text = pl.DataFrame(
        {
            "review_comment_message": [
                'Produto bom, "chegou" rápido. Contato: maria.silva@gmail.com',
                "me liga (11) 98765-4321\r\nou 21 3456-7890",
                "CPF 123.456.789-09 e CNPJ 12.345.678/0001-90",
                "nota 10, entregue em 2 dias",
            ],
            "review_comment_title": [None, "ok", "bom", None],
        }
    )
    masked, _ = apply_masking(text, "reviews", get_policy("default"), KEY)
    out = masked["review_comment_message"].to_list()
    assert out[0].endswith("Contato: [EMAIL]") and '"chegou"' in out[0]
    assert "98765" not in out[1] and "3456-7890" not in out[1] and "[TELEFONE]" in out[1]
    assert out[2] == "CPF [CPF] e CNPJ [CNPJ]"
    assert out[3] == "nota 10, entregue em 2 dias"
    assert not masked.select(text_has_pii("review_comment_message")).to_series().any()


def test_unknown_policy_is_a_clear_error():
    with pytest.raises(ValueError, match="default, seed"):
        get_policy("strict")


def _texts() -> list[str | None]:
    """Free text around the scrub patterns: matches, near misses, tags, Unicode digits."""
    pieces = ["a@b.com", "x@y", "@", "12", "123", "1234", "123.456.789-09", "12345678909",
              "12.345.678/0001-90", "(11) 98765-4321", "+55 11 987654321", "9876-5432",
              "٣٤٥", "１２３", "x١٢٣٤٥٦٧٨٩٠١y", "[EMAIL]", "[CPF]", "ótimo", "ação12", "é",
              "...", "-", "/", " ", "\n", ""]  # fmt: skip
    import random

    rng = random.Random(20261207)
    texts: list[str | None] = [None, "", "produto ótimo, chegou antes do prazo"]
    texts += pieces
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 6))) for _ in range(3000)]
    texts += ["".join(rng.choice("0123456789.-/@ ab()+é٣") for _ in range(rng.randint(1, 24)))
              for _ in range(3000)]  # fmt: skip
    return texts


def test_only_text_with_an_at_sign_or_three_digits_can_hold_pii():
    """The rule `MAY_HOLD_PII` rests on: whatever a scrub pattern finds, the scan finds too."""
    from tasks.silver.masking import MAY_HOLD_PII, PII_IN_TEXT, SCRUB_PATTERNS

    texts = pl.Series("t", _texts())
    may = texts.str.contains(MAY_HOLD_PII).fill_null(False)
    for pattern in (PII_IN_TEXT, *(p for p, _ in SCRUB_PATTERNS)):
        found = texts.str.contains(pattern).fill_null(False)
        assert not (found & ~may).any(), texts.filter(found & ~may).to_list()[:5]
    assert found.sum() > 100 and (~may).sum() > 100  # both kinds were tried


def test_scrubbing_the_candidates_alone_equals_scrubbing_every_value():
    from tasks.silver.masking import SCRUB_PATTERNS

    texts = _texts()
    frame = pl.DataFrame({"review_comment_message": texts, "review_comment_title": texts[::-1]})
    masked, _ = apply_masking(frame, "reviews", get_policy("default"), KEY)
    for column in frame.columns:
        every = frame[column]
        for pattern, tag in SCRUB_PATTERNS:
            every = every.str.replace_all(pattern, tag)
        assert masked[column].equals(every), column
    assert frame["review_comment_message"].to_list() == texts  # the input is left as it was


def test_free_text_left_with_pii_is_found_in_the_candidates_as_in_every_row():
    """Silver's check after masking looks only where the scan says PII may be: the same
    failures, in the same order, as looking in every row."""
    from tasks.silver.olist import _pii_failures
    from validation.gate import ROW, row_failures

    texts = _texts()
    unmasked = pl.DataFrame(
        {ROW: range(1, len(texts) + 1), "review_comment_title": texts[::-1],
         "review_comment_message": texts}
    )  # fmt: skip
    everywhere = pl.concat(
        [row_failures(unmasked, text_has_pii(c), "no_pii_in_free_text", c)
         for c in ("review_comment_title", "review_comment_message")]
    )  # fmt: skip
    found = _pii_failures("reviews", unmasked)
    assert found.height > 100
    assert found.equals(everywhere)


def test_an_id_masked_in_two_datasets_gets_the_same_tokens_hashed_once_or_looked_up():
    """Orders' and customers' `customer_id` are masked alike: the second dataset takes the
    tokens the first kept and hashes only ids it has not seen; every token is the id's own
    pseudonym, nulls stay null, and a column masked in one dataset only is not kept."""
    policy = get_policy("default")
    assert policy.shared_columns() == {("customer_id", "pseudonym")}
    ids = [f"c{i}" for i in range(30)]
    orders = pl.DataFrame({"order_id": [f"o{i}" for i in range(32)],
                           "customer_id": [*ids, None, "c3"]})  # fmt: skip
    customers = CUSTOMERS.with_columns(pl.Series("customer_id", ["c3", "new", None]))
    cache: dict = {}
    first, _ = apply_masking(orders, "orders", policy, KEY, cache)
    assert list(cache) == ["pseudonym:customer_id"]
    kept = cache["pseudonym:customer_id"]
    assert kept.height == 30 and kept["value"].null_count() == 0  # each id once
    second, report = apply_masking(customers, "customers", policy, KEY, cache)
    expected = [pseudonym(i, KEY) for i in ids] + [None, pseudonym("c3", KEY)]
    assert first["customer_id"].to_list() == expected
    assert second["customer_id"].to_list() == [pseudonym("c3", KEY), pseudonym("new", KEY), None]
    assert report.values_changed == 2 + 3 + 3 + 3  # ids (not the null), unique ids, zip, city
    assert set(cache) == {"pseudonym:customer_id"}  # customer_unique_id: customers only
    alone, _ = apply_masking(customers, "customers", policy, KEY)
    assert alone.equals(second)
