"""What `cofre` says in the cases a first hour meets: a second `keys init`, a secret with no
one to prompt, the saved secrets' table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from blocks.settings import load_settings
from flows.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def test_keys_init_force_on_a_home_with_a_keyring_rotates_and_keeps_the_old_key(prefect_api):
    from tests.prefect_rest import delete_all_cofre_blocks

    delete_all_cofre_blocks()  # other tests' blocks, under other keyrings, cannot rotate
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0
    path = load_settings().resolved_keyring_file
    [first] = json.loads(path.read_text())["keys"]
    forced = runner.invoke(app, ["keys", "init", "--force"])
    assert forced.exit_code == 0, forced.output
    keys = json.loads(path.read_text())["keys"]
    assert forced.output.startswith(f"Rotated to primary key {keys[0]['id']}.")
    assert [k["id"] for k in keys] == [keys[0]["id"], first["id"]] != [first["id"]] * 2
    assert keys[1]["key"] == first["key"]  # the old key is kept: it still decrypts


def test_secrets_set_with_stdin_closed_names_the_variable_to_set(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "COFRE_"))}
    env |= {"COFRE_HOME": str(tmp_path / "home"), "PREFECT_HOME": str(tmp_path / "prefect")}
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "secrets", "set", "postgres", "pg", "--set", "host=db"],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=120, start_new_session=True,  # no controlling terminal: getpass reads stdin
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    [stopped] = [line for line in done.stderr.splitlines() if line.startswith("Cofre stopped:")]
    assert "COFRE_SECRET_PASSWORD" in stopped and "stdin is closed" in stopped, stopped
    assert "EOFError" not in done.stderr and "unexpected" not in done.stderr


def test_secrets_list_has_column_headers(prefect_api, monkeypatch):
    from tests.prefect_rest import delete_all_cofre_blocks

    delete_all_cofre_blocks()
    runner.invoke(app, ["keys", "init"])
    monkeypatch.setenv("COFRE_SECRET_API_KEY", "not-a-real-key")
    assert runner.invoke(app, ["secrets", "set", "api-key", "weather"]).exit_code == 0
    listed = runner.invoke(app, ["secrets", "list"])
    assert listed.exit_code == 0, listed.output
    header, row = listed.output.splitlines()[:2]
    assert header.split() == ["KIND", "NAME", "KEY", "ID", "UPDATED"]
    assert row.split()[:2] == ["api-key", "weather"]
    assert header.index("NAME") == row.index("weather")
    delete_all_cofre_blocks()
