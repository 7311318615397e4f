"""The CofreConfig block is sealed: a writer of the Prefect API cannot redirect the lake or
the warehouse by editing it. Real Prefect server; the attacker uses only its REST API."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from blocks import audit
from blocks.errors import BlockSealBroken, ConfigurationError
from blocks.secrets.config import CofreConfig, require_config
from blocks.secrets.keyring import ensure_keyring
from blocks.settings import EnvOnlySettings, load_settings
from flows.cli import app
from tests.conftest import files_containing
from tests.prefect_rest import api_call, patch_block

SLUG = "cofre-config"
MARKER = "CONFIG-marker-5d20aa"
runner = CliRunner()


def _delete_configs(api: str) -> None:
    response = api_call("get", f"{api}/block_types/slug/{SLUG}/block_documents")
    if response.status_code == 404:  # the block type is not registered yet
        return
    response.raise_for_status()
    for document in response.json():
        api_call("delete", f"{api}/block_documents/{document['id']}").raise_for_status()


@pytest.fixture
def api(prefect_api):
    """The server's URL, holding no CofreConfig block but this test's; a local keyring."""
    _delete_configs(prefect_api.url)
    ensure_keyring()
    yield prefect_api.url
    _delete_configs(prefect_api.url)


def _config(*args: str) -> object:
    return runner.invoke(app, ["config", *args])


def _config_set(name: str, *assignments: str) -> None:
    result = _config("set", name, *[x for a in assignments for x in ("--set", a)])
    assert result.exit_code == 0, result.output


def _incidents(name: str) -> list[dict]:
    # Env-only settings: with COFRE_CONFIG_BLOCK naming a broken block, load_settings refuses.
    return [
        r
        for r in audit.read_records(EnvOnlySettings())
        if r["action"] == "SECURITY_INCIDENT" and r["target"] == f"{SLUG}/{name}"
    ]


def test_a_sealed_config_is_read_by_load_settings(api, monkeypatch):
    _config_set(
        "team",
        "s3_endpoint_url=http://minio.internal:9000",
        "s3_credentials_block=minio",
        'lake_buckets={"bronze": "bronze-layer"}',
        "sources=snapshot",
    )
    monkeypatch.setenv("COFRE_CONFIG_BLOCK", "team")
    settings = load_settings()
    assert settings.s3_endpoint_url == "http://minio.internal:9000"
    assert settings.s3_credentials_block == "minio"
    assert settings.lake_buckets == {"bronze": "bronze-layer"}
    assert settings.sources == "snapshot"
    monkeypatch.setenv("COFRE_SOURCES", "live")  # env still wins over the block
    assert load_settings().sources == "live"
    assert load_settings(sources="auto").sources == "auto"  # and a flag over env
    [write] = [r for r in audit.read_records() if r["target"] == f"{SLUG}/team"]
    assert write["action"] == "SECRET_WRITE" and write["details"]["block_kind"] == "config"
    assert "minio.internal" not in str(write)  # names of fields only, never values


def test_set_merges_onto_a_sound_config_and_clears_with_an_empty_value(api):
    _config_set("team", "lake_url=s3://cofre-lake", "sources=live")
    _config_set("team", "sources=", "warehouse_url=postgresql://cofre@db:5432/cofre")
    config = require_config("team")
    assert config.values() == {
        "lake_url": "s3://cofre-lake",
        "warehouse_url": "postgresql://cofre@db:5432/cofre",
    }


@pytest.mark.parametrize(
    "patch",
    [
        {"s3_endpoint_url": "http://127.0.0.1:9"},
        {"warehouse_url": "postgresql://cofre@evil.example:5432/cofre"},
        {"lake_url": "s3://attacker-bucket"},
        {"s3_credentials_block": "attacker-s3"},
        {"home": "/tmp/attacker-home"},  # an unknown key (Prefect blocks allow extras)
        {"warehouse_any_host": True},  # would let a parameter send PGPASSWORD anywhere
    ],
    ids=["endpoint", "warehouse", "lake", "block-name", "extra-key", "any-host"],
)
def test_a_field_patched_through_the_rest_api_is_refused_and_audited(api, monkeypatch, patch):
    _config_set("team", "s3_endpoint_url=http://minio.internal:9000", "lake_url=s3://cofre-lake")
    patch_block(api, SLUG, "team", patch)
    monkeypatch.setenv("COFRE_CONFIG_BLOCK", "team")
    with pytest.raises(BlockSealBroken, match=f"{SLUG}/team fails its seal") as caught:
        load_settings()
    assert "cofre config show team" in str(caught.value)
    assert "cofre config reseal team" in str(caught.value)
    [incident] = _incidents("team")
    assert incident["outcome"] == "failure" and incident["details"]["check"] == "mismatch"
    # Merging onto the edited block is refused too; --replace writes a fresh, sealed one.
    result = _config("set", "team", "--set", "sources=live")
    assert result.exit_code == 1 and "fails its seal" in result.output
    result = _config("set", "team", "--replace", "--set", "lake_url=s3://cofre-lake")
    assert result.exit_code == 0, result.output
    assert load_settings().lake_url == "s3://cofre-lake"
    assert load_settings().s3_endpoint_url is None


def test_a_renamed_or_foreign_keyed_config_is_refused(api, monkeypatch, tmp_path):
    _config_set("team", "lake_url=s3://cofre-lake")
    # A copy of team's data (seal included) saved under another name.
    team = api_call("get", f"{api}/block_types/slug/{SLUG}/block_documents/name/team").json()
    copy = {key: team[key] for key in ("block_schema_id", "block_type_id", "data")}
    api_call("post", f"{api}/block_documents/", json={**copy, "name": "copy"}).raise_for_status()
    monkeypatch.setenv("COFRE_CONFIG_BLOCK", "copy")
    with pytest.raises(BlockSealBroken, match=f"{SLUG}/copy fails its seal"):
        load_settings()
    # Another home's keyring: the seal key id does not match.
    monkeypatch.setenv("COFRE_CONFIG_BLOCK", "team")
    monkeypatch.setenv("COFRE_HOME", str(tmp_path / "other-home"))
    ensure_keyring(EnvOnlySettings())  # env-only: load_settings would load (and refuse) team
    with pytest.raises(BlockSealBroken, match="another keyring's seal key"):
        load_settings()
    assert [r["details"]["check"] for r in _incidents("team")] == ["wrong_keyring"]


def test_an_unsealed_legacy_config_is_refused_until_resealed(api, monkeypatch):
    legacy = CofreConfig(s3_endpoint_url="http://minio.internal:9000", sources="live")
    super(CofreConfig, legacy).save("legacy", overwrite=True)  # as an earlier version saved it
    monkeypatch.setenv("COFRE_CONFIG_BLOCK", "legacy")
    with pytest.raises(BlockSealBroken, match=f"{SLUG}/legacy has no seal"):
        load_settings()
    assert [r["details"]["check"] for r in _incidents("legacy")] == ["missing"]

    shown = _config("show", "legacy")
    assert "s3_endpoint_url = 'http://minio.internal:9000'" in shown.output
    assert "seal missing" in shown.output

    declined = runner.invoke(app, ["config", "reseal", "legacy"], input="n\n")
    assert declined.exit_code == 1 and "Not resealed." in declined.output
    assert "s3_endpoint_url = 'http://minio.internal:9000'" in declined.output
    with pytest.raises(BlockSealBroken):
        load_settings()

    confirmed = runner.invoke(app, ["config", "reseal", "legacy"], input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert load_settings().s3_endpoint_url == "http://minio.internal:9000"
    assert "seal OK" in _config("show", "legacy").output
    assert "already sealed" in _config("reseal", "legacy", "--yes").output


def test_reseal_refuses_a_legacy_config_holding_a_password(api):
    # Its own marker: this legacy block does put a password in the server's database, and the
    # database file keeps deleted rows' bytes, which another test scans for MARKER.
    legacy = CofreConfig(warehouse_url="postgresql://cofre:LEGACY-pw-77c1@db/cofre")
    super(CofreConfig, legacy).save("legacy-pw", overwrite=True)
    result = _config("reseal", "legacy-pw", "--yes")
    assert result.exit_code == 1
    assert "'warehouse_url' holds a password in a URL" in result.output
    assert "cofre-config/legacy-pw was not saved" in result.output
    with pytest.raises(BlockSealBroken, match="has no seal"):
        require_config("legacy-pw")


def test_config_set_refuses_a_password_in_warehouse_url(api, prefect_api):
    url = f"postgresql://cofre:{MARKER}@db.internal:5432/cofre"
    result = _config("set", "team", "--set", f"warehouse_url={url}")
    assert result.exit_code == 1
    assert "'warehouse_url' holds a password in a URL" in result.output
    assert "cofre secrets set postgres" in result.output  # where the password belongs
    assert MARKER not in result.output
    with pytest.raises(ConfigurationError, match="No cofre-config block named 'team'"):
        require_config("team")
    assert files_containing(prefect_api.database_dir, MARKER) == []
    trail = load_settings().resolved_audit_dir
    assert not trail.exists() or files_containing(trail, MARKER) == []


def test_config_set_refuses_a_secret_shaped_block_name_and_unknown_fields(api):
    result = _config("set", "team", "--set", "s3_credentials_block=AKIAIOSFODNN7EXAMPLE")
    assert result.exit_code == 1 and "looks like an AWS access key id" in result.output
    result = _config("set", "team", "--set", "home=/tmp/elsewhere")
    assert result.exit_code == 1 and "--set expects field=value" in result.output
    result = _config("set", "team", "--set", "s3_sse=rot13")
    assert result.exit_code == 1 and "invalid value for s3_sse" in result.output


def test_a_missing_config_block_is_one_clear_error(api, monkeypatch):
    monkeypatch.setenv("COFRE_CONFIG_BLOCK", "nowhere")
    with pytest.raises(ConfigurationError, match="cofre config set nowhere"):
        load_settings()


def test_a_config_sealed_before_warehouse_any_host_existed_still_verifies():
    """`warehouse_any_host` is covered by the seal only once set: an older config's seal,
    computed over the fields it had, verifies; the field set later breaks it."""
    from blocks.secrets.seal import compute_seal, model_fields_for_seal

    keyring = ensure_keyring()
    config = CofreConfig(lake_url="s3://cofre-lake")
    later = ("warehouse_any_host", "olist_roots")  # fields added after configs were sealed
    older_fields = model_fields_for_seal(config, exclude=("seal", *later))
    config.seal = compute_seal(SLUG, "team", older_fields, keyring)
    assert config.seal_state(keyring, "team") is None
    config.warehouse_any_host = True
    assert config.seal_state(keyring, "team") == "mismatch"
    config.reseal("team", keyring)
    assert config.seal_state(keyring, "team") is None
    config.olist_roots = ["/tmp/elsewhere"]  # an API writer widening the roots
    assert config.seal_state(keyring, "team") == "mismatch"
