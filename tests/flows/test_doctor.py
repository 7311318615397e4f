"""`cofre doctor` against real services: a ready home passes every check, and each broken
part is one FAIL line saying what to do, with exit code 1."""

from __future__ import annotations

import os
import uuid

from typer.testing import CliRunner

from flows.cli import app
from tests.conftest import free_port

runner = CliRunner()


def _lines(output: str) -> dict[str, str]:
    """{check: its line} for the report's `ok`/`FAIL` lines."""
    found = {}
    for line in output.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) >= 2 and parts[0] in ("ok", "FAIL"):
            found[parts[1]] = line
    return found


def test_a_ready_home_passes_every_check(prefect_api, postgres, monkeypatch):
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0
    monkeypatch.setenv("PREFECT_API_URL", prefect_api.url)
    monkeypatch.setenv("PGPASSWORD", postgres.password)
    database = postgres.create_database(f"doctor_{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("COFRE_WAREHOUSE_URL", postgres.url(database, with_password=False))
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    lines = _lines(result.output)
    assert sorted(lines) == sorted(
        ["python", "java", "keyring", "prefect", "blocks", "lake", "warehouse"]
    )
    assert all(line.startswith("ok") for line in lines.values()), result.output
    assert "mode 0600" in lines["keyring"]
    assert "not needed (gold engine duckdb)" in lines["java"]
    assert f"{prefect_api.url} answers" in lines["prefect"]
    assert f"{postgres.host}:{postgres.port}/{database} answers" in lines["warehouse"]


def test_each_broken_part_is_one_line_saying_what_to_do(cofre_home, monkeypatch):
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0
    keyring = cofre_home / "keyring.json"
    os.chmod(keyring, 0o644)
    dead = free_port()
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{dead}/api")
    monkeypatch.setenv("COFRE_WAREHOUSE_URL", f"postgresql://cofre@127.0.0.1:{dead}/cofre")
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1, result.output
    lines = _lines(result.output)
    assert lines["python"].startswith("ok")
    assert lines["keyring"].startswith("FAIL") and f"chmod 600 {keyring}" in lines["keyring"]
    assert lines["prefect"].startswith("FAIL") and "fix PREFECT_API_URL" in lines["prefect"]
    assert lines["blocks"].startswith("FAIL") and "not checked" in lines["blocks"]
    assert lines["warehouse"].startswith("FAIL")
    assert "Check that PostgreSQL is running" in lines["warehouse"]
    assert "4 check(s) failed: keyring, prefect, blocks, warehouse." in result.output


def test_java_is_checked_only_for_the_spark_engine(monkeypatch):
    monkeypatch.setenv("COFRE_GOLD_ENGINE", "spark")
    monkeypatch.setenv("PATH", "/nonexistent")  # no java to find
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{free_port()}/api")  # no API start
    result = runner.invoke(app, ["doctor"])
    java = _lines(result.output)["java"]
    assert java.startswith("FAIL") and "COFRE_GOLD_ENGINE=duckdb" in java, result.output
