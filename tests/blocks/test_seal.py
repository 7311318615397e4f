"""Sealed, bound credential blocks: what a seal covers, rotation, legacy blocks, verify."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from blocks import audit
from blocks.errors import BlockSealBroken, ConfigurationError
from blocks.secrets.credentials import ApiKey, MaskingKey, PostgresCredentials, S3Credentials
from blocks.secrets.keyring import ensure_keyring, load_keyring
from blocks.secrets.rotation import retire_keys, rotate_keys
from blocks.settings import load_settings
from flows.cli import app
from tests.prefect_rest import delete_all_cofre_blocks, patch_block

MARKER = "SEAL-marker-4d2c9e"
runner = CliRunner()


def _incidents() -> list[dict]:
    return [r for r in audit.read_records() if r["action"] == "SECURITY_INCIDENT"]


@pytest.fixture
def clean_server(prefect_api):
    """No Cofre block in the shared server (other tests' blocks use other keyrings)."""
    delete_all_cofre_blocks()
    ensure_keyring()
    yield prefect_api
    delete_all_cofre_blocks()


def test_the_seal_covers_type_name_and_every_field():
    ensure_keyring()
    edits = {
        "host": "evil.example",
        "port": 6543,
        "database": "other",
        "user": "postgres",
        "sslmode": "disable",
        "key_id": "000000000000",
        "password": S3Credentials.encrypt(
            name="wh", access_key_id="a", secret_access_key="b"
        ).secret_access_key,
    }
    for field, value in edits.items():
        block = PostgresCredentials.encrypt(name="wh", password=f"PW-{MARKER}")
        setattr(block, field, value)
        with pytest.raises(BlockSealBroken, match="cofre-postgres-credentials/wh fails its seal"):
            block.reveal("password")
    renamed = PostgresCredentials.encrypt(name="wh", password=f"PW-{MARKER}")
    renamed._sealed_name = "other"  # the same document under another name
    with pytest.raises(BlockSealBroken, match="/other fails its seal"):
        renamed.check_seal()
    incidents = _incidents()
    assert len(incidents) == len(edits) + 1
    assert {r["details"]["check"] for r in incidents} == {"mismatch"}
    assert all(r["outcome"] == "failure" for r in incidents)
    trail = load_settings().resolved_audit_dir / "audit.jsonl"
    assert MARKER not in trail.read_text()


def test_a_moved_ciphertext_does_not_decrypt_even_when_resealed():
    keyring = ensure_keyring()
    s3 = S3Credentials.encrypt(name="lake", access_key_id="AK", secret_access_key=f"SK-{MARKER}")
    pg = PostgresCredentials.encrypt(name="wh", password="pw")
    pg.password = s3.secret_access_key  # another block's token
    pg.reseal("wh", keyring)  # even if someone sealed the edit...
    with pytest.raises(BlockSealBroken, match=r"'password' of block .*/wh holds ciphertext bound"):
        pg.reveal("password")  # ...the binding refuses it
    s3.access_key_id, s3.secret_access_key = s3.secret_access_key, s3.access_key_id
    s3.reseal("lake", keyring)
    with pytest.raises(BlockSealBroken, match="bound to another block or field"):
        s3.reveal("access_key_id")
    with pytest.raises(BlockSealBroken, match="bound to another block or field"):
        s3.rebind_for_reseal(keyring)  # `cofre secrets reseal` refuses it too
    assert [r["details"]["check"] for r in _incidents()] == ["binding_elsewhere"] * 3


def test_save_refuses_a_name_or_values_it_was_not_sealed_for():
    ensure_keyring()
    block = ApiKey.encrypt(name="openweather", api_key=MARKER)
    with pytest.raises(ConfigurationError, match=r"Refusing to save .* as 'other'"):
        block.save("other")
    block.service = "changed-after-sealing"
    with pytest.raises(ConfigurationError, match=r"encrypt\(name='openweather'"):
        block.save("openweather")
    with pytest.raises(ConfigurationError, match="Refusing to save"):
        MaskingKey(key=block.api_key).save("unsealed")


def test_rotation_and_retirement_keep_seals_valid(clean_server, monkeypatch):
    monkeypatch.setenv("COFRE_SECRET_PASSWORD", f"PW-{MARKER}")
    monkeypatch.setenv("COFRE_SECRET_API_KEY", f"KEY-{MARKER}")
    for kind, name in (("postgres", "rot-wh"), ("api-key", "rot-ow")):
        result = runner.invoke(app, ["secrets", "set", kind, name])
        assert result.exit_code == 0, result.output
    old = load_keyring().primary_id
    report = rotate_keys()
    assert sorted(report.reencrypted) == [
        "cofre-api-key/rot-ow",
        "cofre-postgres-credentials/rot-wh",
    ]
    assert len(retire_keys()) == 1
    keyring = load_keyring()
    assert keyring.key_ids == (keyring.primary_id,) and keyring.primary_id != old
    pg = PostgresCredentials.require("rot-wh")
    assert pg.key_id == keyring.primary_id
    assert pg.reveal("password") == f"PW-{MARKER}"
    assert ApiKey.require("rot-ow").reveal("api_key") == f"KEY-{MARKER}"
    verified = runner.invoke(app, ["secrets", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "All 2 Cofre block(s) are sealed and bound" in verified.output
    assert _incidents() == []


def test_rotation_refuses_an_edited_block_before_adding_a_key(clean_server):
    PostgresCredentials.encrypt(name="rot-edit", password="pw").save("rot-edit")
    patch_block(clean_server.url, "cofre-postgres-credentials", "rot-edit", {"port": 1})
    before = load_keyring().key_ids
    with pytest.raises(BlockSealBroken, match=r"1 block\(s\) fail their seal.*rot-edit"):
        rotate_keys()
    assert load_keyring().key_ids == before  # no key added, nothing re-encrypted or resealed


def test_a_legacy_unsealed_block_is_refused_until_resealed(clean_server):
    keyring = load_keyring()
    PostgresCredentials.encrypt(name="legacy", password="pw").save("legacy")
    # What an earlier Cofre saved: no seal field, ciphertext bound to nothing.
    legacy = {
        "host": "db.internal",
        "port": 5432,
        "database": "cofre",
        "user": "cofre",
        "sslmode": "prefer",
        "key_id": keyring.primary_id,
        "password": keyring.encrypt(f"PW-{MARKER}"),
    }
    patch_block(clean_server.url, "cofre-postgres-credentials", "legacy", legacy, merge=False)
    with pytest.raises(BlockSealBroken, match=r"has no seal.*cofre secrets reseal legacy"):
        PostgresCredentials.require("legacy")
    bad = runner.invoke(app, ["secrets", "verify"])
    assert bad.exit_code == 1 and "BROKEN   cofre-postgres-credentials/legacy" in bad.output

    declined = runner.invoke(app, ["secrets", "reseal", "legacy"], input="n\n")
    assert declined.exit_code == 1 and "Not resealed" in declined.output
    assert "host = 'db.internal'" in declined.output
    with pytest.raises(BlockSealBroken):
        PostgresCredentials.require("legacy")

    resealed = runner.invoke(app, ["secrets", "reseal", "legacy"], input="y\n")
    assert resealed.exit_code == 0, resealed.output
    assert "bound password to it" in resealed.output
    assert MARKER not in declined.output + resealed.output
    block = PostgresCredentials.require("legacy")
    assert block.host == "db.internal" and block.reveal("password") == f"PW-{MARKER}"
    assert runner.invoke(app, ["secrets", "verify"]).exit_code == 0
    again = runner.invoke(app, ["secrets", "reseal", "legacy", "--yes"])
    assert "already sealed" in again.output
    writes = [r for r in audit.read_records() if r["action"] == "SECRET_WRITE"]
    assert writes[-1]["details"]["resealed"] is True
    assert writes[-1]["details"]["previous_seal"] == "missing"
