"""Key rotation over saved blocks through a real Prefect API, with a crash in the middle."""

from __future__ import annotations

import pytest

from blocks.errors import KeyringError
from blocks.secrets.credentials import ApiKey, MaskingKey, PostgresCredentials
from blocks.secrets.encrypted_block import EncryptedBlock
from blocks.secrets.keyring import Keyring, ensure_keyring, load_keyring, rotation_pending
from blocks.secrets.rotation import reencrypt_all, retire_keys, rotate_keys, saved_blocks
from blocks.settings import load_settings
from tests.prefect_rest import delete_all_cofre_blocks


@pytest.fixture
def three_saved_blocks(prefect_api):
    """Exactly three Cofre blocks in the server, encrypted with this test's first key."""
    delete_all_cofre_blocks()
    ensure_keyring()
    blocks = {
        "rot-pg": PostgresCredentials.encrypt(name="rot-pg", password="pg-password-1"),
        "rot-api": ApiKey.encrypt(name="rot-api", api_key="api-key-1"),
        "rot-mask": MaskingKey.encrypt(name="rot-mask", key="masking-key-1"),
    }
    for name, block in blocks.items():
        block.save(name, overwrite=True)
    yield {"rot-pg": "pg-password-1", "rot-api": "api-key-1", "rot-mask": "masking-key-1"}
    delete_all_cofre_blocks()


def _plaintexts(keyring: Keyring) -> dict[str, str]:
    values = {}
    for cls, name in saved_blocks():
        block = cls.load(name)
        field = block._secret_fields[0]
        values[name] = block.reveal(field, keyring=keyring)
    return values


def test_rotation_with_a_crash_midway_then_retire(three_saved_blocks, monkeypatch):
    settings = load_settings()
    old_primary = load_keyring().primary_id
    real_save = EncryptedBlock.save
    calls = {"n": 0}

    def crash_on_second_save(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("simulated crash during rotation")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(EncryptedBlock, "save", crash_on_second_save)
    with pytest.raises(RuntimeError, match="simulated crash"):
        rotate_keys(settings)
    monkeypatch.setattr(EncryptedBlock, "save", real_save)

    # Mid-rotation: nothing is lost, every block still decrypts with the keyring.
    assert rotation_pending(settings.resolved_keyring_file)
    assert _plaintexts(load_keyring()) == three_saved_blocks
    with pytest.raises(KeyringError, match="unfinished"):
        retire_keys(settings)

    report = rotate_keys(settings)  # the re-run resumes with the same new key
    assert report.resumed
    keyring = load_keyring()
    assert len(keyring.keys) == 2 and keyring.primary_id != old_primary
    assert len(report.reencrypted) + len(report.already_current) == 3

    assert retire_keys(settings) == [old_primary]
    new_only = load_keyring()
    assert new_only.key_ids == (keyring.primary_id,)
    assert _plaintexts(new_only) == three_saved_blocks
    assert all(cls.load(name).key_id == new_only.primary_id for cls, name in saved_blocks())


def test_retire_refuses_while_a_block_needs_an_old_key(three_saved_blocks):
    settings = load_settings()
    from blocks.secrets.keyring import add_primary_key, finish_rotation

    add_primary_key(settings.resolved_keyring_file)  # a new key, but blocks not re-encrypted
    finish_rotation(settings.resolved_keyring_file)
    with pytest.raises(KeyringError, match="still need an old key"):
        retire_keys(settings)
    reencrypt_all(load_keyring())
    assert len(retire_keys(settings)) == 1
    assert _plaintexts(load_keyring()) == three_saved_blocks
