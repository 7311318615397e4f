"""Encrypted blocks through a real Prefect API: only ciphertext ever reaches the server."""

from __future__ import annotations

import os
import stat

import httpx
import pytest

from blocks.errors import (
    BlockSealBroken,
    ConfigurationError,
    DecryptionError,
    KeyringError,
    SecretNotFound,
)
from blocks.secrets.credentials import (
    COFRE_BLOCKS,
    ApiKey,
    MaskingKey,
    PostgresCredentials,
    S3Credentials,
)
from blocks.secrets.keyring import Keyring, ensure_keyring, init_keyring_file, load_keyring
from blocks.settings import load_settings
from tests.conftest import files_containing

MARKER = "MARKER-s3cr3t-7f3a9c"


def _blocks_with_marker():
    return {
        "s3": S3Credentials.encrypt(
            name="roundtrip-s3",
            endpoint_url="http://127.0.0.1:9",
            access_key_id=f"AK-{MARKER}",
            secret_access_key=f"SK-{MARKER}",
        ),
        "postgres": PostgresCredentials.encrypt(name="roundtrip-postgres", password=f"PW-{MARKER}"),
        "api-key": ApiKey.encrypt(name="roundtrip-api-key", api_key=f"KEY-{MARKER}"),
        "masking-key": MaskingKey.encrypt(name="roundtrip-masking-key", key=f"HMAC-{MARKER}"),
    }


@pytest.fixture
def keyring() -> Keyring:
    return ensure_keyring()


def test_every_block_round_trips_and_the_server_holds_only_ciphertext(prefect_api, keyring):
    saved = _blocks_with_marker()
    ids = {}
    for kind, block in saved.items():
        ids[kind] = block.save(f"roundtrip-{kind}", overwrite=True)
    loaded = {kind: COFRE_BLOCKS[kind].load(f"roundtrip-{kind}") for kind in saved}
    assert loaded["s3"].reveal("secret_access_key") == f"SK-{MARKER}"
    assert loaded["postgres"].reveal("password") == f"PW-{MARKER}"
    assert loaded["api-key"].reveal("api_key") == f"KEY-{MARKER}"
    assert loaded["masking-key"].reveal("key") == f"HMAC-{MARKER}"
    # The REST API, even when asked for secrets, returns ciphertext.
    for block_id in ids.values():
        response = httpx.get(
            f"{prefect_api.url}/block_documents/{block_id}", params={"include_secrets": True}
        )
        response.raise_for_status()
        assert MARKER not in response.text
        assert "gAAAAA" in response.text  # what it does hold is a Fernet token
    assert files_containing(prefect_api.database_dir, MARKER) == []


def test_repr_and_str_show_no_secret_material(keyring):
    block = PostgresCredentials.encrypt(name="repr", password=f"PW-{MARKER}")
    for text in (repr(block), str(block)):
        assert MARKER not in text
        assert block.password not in text
        assert "***" in text


def test_plaintext_is_refused_without_echoing_it():
    with pytest.raises(ConfigurationError, match="must hold Fernet ciphertext") as caught:
        ApiKey(api_key=f"plain-{MARKER}")
    assert MARKER not in str(caught.value)


def test_wrong_key_names_block_and_field(keyring, tmp_path, monkeypatch):
    block = ApiKey.encrypt(name="wrong-key", api_key=MARKER)
    # Same audit key (so the seal verifies), other Fernet key: the decryption error path.
    other = Keyring(init_keyring_file(tmp_path / "other.json").keys, keyring.audit_key, "other")
    with pytest.raises(DecryptionError, match=r"field 'api_key' of block 'cofre-api-key/") as e:
        block.reveal("api_key", keyring=other)
    assert MARKER not in str(e.value)
    assert e.value.__cause__ is None and e.value.__suppress_context__


def test_tampered_token_breaks_the_seal_before_any_decryption(keyring):
    block = MaskingKey.encrypt(name="tampered", key=MARKER)
    token = block.key
    flipped = token[:30] + ("A" if token[30] != "A" else "B") + token[31:]
    block.key = flipped
    with pytest.raises(BlockSealBroken, match="cofre-masking-key/tampered fails its seal"):
        block.reveal("key")
    block.reseal("tampered", keyring)  # even sealed, a flipped token does not decrypt
    with pytest.raises(DecryptionError, match="'key'"):
        block.reveal("key")


def test_missing_key_says_how_to_create_one():
    with pytest.raises(KeyringError, match="cofre keys init"):
        load_keyring()


def test_keyring_file_readable_by_others_is_refused(keyring):
    path = load_settings().resolved_keyring_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    os.chmod(path, 0o644)
    with pytest.raises(KeyringError, match=f"chmod 600 {path}"):
        load_keyring()


def test_keys_from_the_environment_take_precedence(keyring, monkeypatch):
    from cryptography.fernet import Fernet

    env_key = Fernet.generate_key().decode()
    monkeypatch.setenv("COFRE_FERNET_KEYS", env_key)
    from_env = load_keyring()
    assert from_env.source == "COFRE_FERNET_KEYS"
    assert from_env.keys == (env_key,)
    monkeypatch.setenv("COFRE_FERNET_KEYS", "not-a-key")
    with pytest.raises(KeyringError, match="not a valid Fernet key"):
        load_keyring()


def test_missing_block_is_secret_not_found(prefect_api, keyring):
    with pytest.raises(SecretNotFound, match="cofre secrets set postgres nope"):
        PostgresCredentials.require("nope")


def test_clients_are_built_at_run_time_from_decrypted_values(keyring):
    s3 = S3Credentials.encrypt(
        name="clients",
        endpoint_url="http://127.0.0.1:9000",
        access_key_id="AKID",
        secret_access_key="SKEY",
    )
    options = s3.s3fs_options()
    assert options["key"] == "AKID" and options["secret"] == "SKEY"
    assert options["s3_additional_kwargs"] == {"ServerSideEncryption": "AES256"}
    minio = s3.minio_credentials()
    assert minio.minio_root_password.get_secret_value() == "SKEY"
    assert minio.aws_client_parameters.endpoint_url == "http://127.0.0.1:9000"
    pg = PostgresCredentials.encrypt(name="clients", host="db", password="pw", sslmode="require")
    connector = pg.sqlalchemy_connector()
    assert connector.connection_info.password.get_secret_value() == "pw"
    assert pg.safe_url() == "postgresql+psycopg://cofre:***@db:5432/cofre"


def test_s3_block_drives_a_real_s3_lake(keyring, moto_endpoint, s3_bucket, monkeypatch):
    import boto3

    from blocks.lake import Lake

    block = S3Credentials.encrypt(
        name="moto",
        endpoint_url=moto_endpoint,
        access_key_id="testing",
        secret_access_key="testing",
    )
    lake = Lake.from_url(f"s3://{s3_bucket}", storage_options=block.s3fs_options())
    lake.write_bytes("bronze", "k.csv", b"1")
    head = boto3.client("s3", endpoint_url=moto_endpoint).head_object(
        Bucket=s3_bucket, Key="bronze/k.csv"
    )
    assert head["ServerSideEncryption"] == "AES256"
