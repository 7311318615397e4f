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
