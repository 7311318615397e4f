"""`.env` in the working directory: read below the environment and above the saved block."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from blocks.errors import ConfigurationError
from blocks.secrets.keyring import load_keyring
from blocks.settings import EnvOnlySettings, load_settings
from flows.cli import app


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """An empty working directory (where `.env` is looked up), away from the checkout's."""
    directory = tmp_path / "work"
    directory.mkdir()
    monkeypatch.chdir(directory)
    return directory


def write_env(directory: Path, *lines: str) -> None:
    (directory / ".env").write_text("\n".join(lines) + "\n")


def test_a_dotenv_value_is_used(workdir):
    write_env(workdir, "# a comment", "COFRE_SYNTHETIC_ORDERS=1234", "COFRE_SOURCES=snapshot")
    settings = load_settings()
    assert settings.synthetic_orders == 1234 and settings.sources == "snapshot"
    assert EnvOnlySettings().synthetic_orders == 1234  # the env-only form reads it too


def test_dotenv_can_locate_the_home(workdir, monkeypatch, tmp_path):
    monkeypatch.delenv("COFRE_HOME")
    write_env(workdir, f"COFRE_HOME={tmp_path / 'dotenv-home'}")
    assert EnvOnlySettings().resolved_audit_dir == tmp_path / "dotenv-home" / "audit"


def test_environment_beats_dotenv_and_a_flag_beats_both(workdir, monkeypatch):
    write_env(workdir, "COFRE_SYNTHETIC_ORDERS=1234", "COFRE_SEED=5")
    monkeypatch.setenv("COFRE_SYNTHETIC_ORDERS", "55")
    settings = load_settings()
    assert settings.synthetic_orders == 55 and settings.seed == 5
    assert load_settings(synthetic_orders=7).synthetic_orders == 7


def test_lines_that_are_not_cofre_variables_are_ignored(workdir):
    write_env(
        workdir,
        "POSTGRES_PASSWORD=change-me-postgres-password",
        "MINIO_BUCKET=cofre-lake",
        "SYNTHETIC_ORDERS=9",  # a field's name without the prefix is not Cofre's
    )
    settings = load_settings()
    assert settings.synthetic_orders == 99_441
    assert not hasattr(settings, "postgres_password") and not hasattr(settings, "minio_bucket")


def test_a_malformed_value_names_the_variable(workdir, monkeypatch):
    write_env(workdir, "COFRE_SOURCES=Snapshot")
    with pytest.raises(ConfigurationError, match=r"COFRE_SOURCES \(got 'Snapshot'\)"):
        load_settings()
    write_env(workdir, "COFRE_LAKE_BUCKETS={not json")
    with pytest.raises(ConfigurationError, match=r"COFRE_LAKE_BUCKETS .*valid dictionary"):
        EnvOnlySettings()
    (workdir / ".env").unlink()
    monkeypatch.setenv("COFRE_OPENWEATHER_CITY_IDS", "[1,")  # a list field: JSON or nothing
    with pytest.raises(ConfigurationError, match="COFRE_OPENWEATHER_CITY_IDS: not valid JSON"):
        EnvOnlySettings()


def test_a_malformed_dotenv_value_stops_the_cli_in_one_line(workdir):
    write_env(workdir, "COFRE_LOCK_WAIT_SECONDS=soon")
    result = CliRunner().invoke(app, ["keys", "init"])
    assert result.exit_code == 1
    assert "Cofre stopped: ConfigurationError: invalid setting COFRE_LOCK_WAIT_SECONDS" in (
        result.output
    )
    assert "Traceback" not in result.output


def test_fernet_keys_in_dotenv_work_like_the_environment_variable(workdir, monkeypatch):
    key, audit_key = Fernet.generate_key().decode(), "ab" * 32
    write_env(workdir, f"COFRE_FERNET_KEYS={key}", f"COFRE_AUDIT_KEY={audit_key}")
    from_dotenv = load_keyring()
    token = from_dotenv.encrypt("dotenv-plaintext")
    assert from_dotenv.source == "COFRE_FERNET_KEYS"
    assert key not in repr(EnvOnlySettings()) and audit_key not in repr(load_settings())
    listed = CliRunner().invoke(app, ["keys", "list"])
    assert listed.exit_code == 0 and key not in listed.output

    (workdir / ".env").unlink()
    monkeypatch.setenv("COFRE_FERNET_KEYS", key)
    monkeypatch.setenv("COFRE_AUDIT_KEY", audit_key)
    from_env = load_keyring()
    assert from_env.key_ids == from_dotenv.key_ids and from_env.audit_key == from_dotenv.audit_key
    assert from_env.decrypt(token, block="b", field="f") == "dotenv-plaintext"


def test_env_only_settings_are_read_again_when_what_they_read_changes(workdir, monkeypatch):
    """The kept settings are reused only while the `COFRE_*` environment and `./.env` are
    unchanged: a new value in either, in any letter case or directory, is seen at once."""
    from blocks import env_settings
    from blocks.env_settings import env_only_settings

    built = []
    real_init = env_settings.EnvOnlySettings.__init__

    def counted(self, **values):
        built.append(1)
        real_init(self, **values)

    monkeypatch.setattr(env_settings.EnvOnlySettings, "__init__", counted)
    write_env(workdir, "COFRE_SYNTHETIC_ORDERS=1234")
    assert env_only_settings().synthetic_orders == 1234
    assert env_only_settings().synthetic_orders == 1234
    assert len(built) == 1  # the second call reused the first reading
    write_env(workdir, "COFRE_SYNTHETIC_ORDERS=4321")
    assert env_only_settings().synthetic_orders == 4321
    monkeypatch.setenv("cofre_synthetic_orders", "77")  # pydantic reads names in any case
    assert env_only_settings().synthetic_orders == 77
    monkeypatch.delenv("cofre_synthetic_orders")
    other = workdir.parent / "other"
    other.mkdir()
    monkeypatch.chdir(other)  # no .env here
    assert env_only_settings().synthetic_orders == EnvOnlySettings().synthetic_orders
    assert len(built) == 5  # every change read again (the last one is the direct reading)


def test_env_only_settings_are_a_copy_per_caller_and_invalid_values_always_raise(
    workdir, monkeypatch
):
    from blocks.env_settings import env_only_settings

    first = env_only_settings()
    first.synthetic_orders = -1  # a caller changing its copy
    assert env_only_settings().synthetic_orders != -1
    monkeypatch.setenv("COFRE_SYNTHETIC_ORDERS", "many")
    for _ in range(2):
        with pytest.raises(ConfigurationError, match="COFRE_SYNTHETIC_ORDERS"):
            env_only_settings()
