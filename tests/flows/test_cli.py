"""The `cofre` console script: keys, secrets, audit and olist commands."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from blocks.settings import load_settings
from flows.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def test_keys_init_creates_a_private_keyring_and_never_overwrites_it():
    result = runner.invoke(app, ["keys", "init"])
    assert result.exit_code == 0, result.output
    path = load_settings().resolved_keyring_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.read_bytes()
    again = runner.invoke(app, ["keys", "init"])
    assert again.exit_code == 0 and "already exists" in again.output, again.output
    assert "nothing changed" in again.output and "--force" in again.output
    assert path.read_bytes() == before
    listed = runner.invoke(app, ["keys", "list"])
    assert "primary" in listed.output
    assert json.loads(path.read_text())["keys"][0]["key"] not in listed.output


def test_secrets_set_and_list_never_show_values(prefect_api, monkeypatch):
    runner.invoke(app, ["keys", "init"])
    monkeypatch.setenv("COFRE_SECRET_PASSWORD", "cli-marker-password-123")
    result = runner.invoke(
        app, ["secrets", "set", "postgres", "cli-warehouse", "--set", "host=db.internal"]
    )
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["secrets", "list"])
    assert "cli-warehouse" in listed.output and "postgres" in listed.output
    assert "cli-marker-password-123" not in listed.output + result.output
    from blocks.secrets.credentials import PostgresCredentials

    block = PostgresCredentials.require("cli-warehouse")
    assert block.host == "db.internal"
    assert block.reveal("password") == "cli-marker-password-123"


def test_secrets_set_rejects_an_unknown_field(prefect_api):
    runner.invoke(app, ["keys", "init"])
    result = runner.invoke(app, ["secrets", "set", "api-key", "x", "--set", "colour=blue"])
    assert result.exit_code == 1 and "field=value" in result.output


def test_audit_verify_passes_then_fails_after_an_edit():
    from blocks import audit

    runner.invoke(app, ["keys", "init"])
    for n in range(3):
        audit.record(audit.Action.LAKE_WRITE, f"file://lake/bronze/{n}")
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "3 record(s)" in ok.output
    trail = next(load_settings().resolved_audit_dir.glob("*.jsonl"))
    lines = trail.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace("bronze/1", "bronze/X")
    trail.write_text("".join(lines))
    bad = runner.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 1 and "seq 2" in bad.output


def test_olist_synth_writes_the_nine_files(tmp_path):
    result = runner.invoke(app, ["olist", "synth", "--orders", "200", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "o").glob("*.csv"))) == 9


def test_console_script_is_installed():
    cofre = Path(sys.executable).parent / "cofre"
    out = subprocess.run([str(cofre), "--help"], capture_output=True, text=True, check=True)
    for command in ("olist", "keys", "secrets", "audit"):
        assert command in out.stdout


def test_python_dash_m_flows_cli_registers_every_command_group():
    for group in ("keys", "secrets", "audit", "config", "gold", "olist"):
        out = subprocess.run(
            [sys.executable, "-m", "flows.cli", group, "--help"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        assert "No such command" not in out.stderr
    keys = subprocess.run(
        [sys.executable, "-m", "flows.cli", "keys", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    for command in ("init", "generate", "list", "rotate", "reencrypt", "retire"):
        assert command in keys.stdout


def test_a_cofre_error_stops_any_command_with_one_line_and_exit_1():
    no_keyring = runner.invoke(app, ["keys", "list"])
    assert no_keyring.exit_code == 1
    [stopped] = [
        line for line in no_keyring.output.splitlines() if line.startswith("Cofre stopped:")
    ]
    assert stopped.startswith("Cofre stopped: KeyringError: ") and "cofre keys init" in stopped
    assert "Traceback" not in no_keyring.output
    unknown = runner.invoke(app, ["secrets", "set", "ftp", "x"])
    assert unknown.exit_code == 1
    assert "Cofre stopped: ConfigurationError: unknown kind 'ftp'" in unknown.output


def test_prefect_block_register_finds_every_cofre_block(prefect_api):
    env = {**os.environ, "PREFECT_API_URL": prefect_api.url}
    prefect = Path(sys.executable).parent / "prefect"
    out = subprocess.run(
        [str(prefect), "block", "register", "-m", "blocks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    for name in (
        "Cofre S3 Credentials",
        "Cofre PostgreSQL Credentials",
        "Cofre API Key",
        "Cofre Masking Key",
        "Cofre Config",
    ):
        assert name in out.stdout


def test_cofre_version_prints_the_installed_version():
    from importlib.metadata import version

    from typer.testing import CliRunner

    from flows.cli import app

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"cofre {version('cofre')}"
