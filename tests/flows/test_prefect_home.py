"""One Prefect home: without a Prefect server every entry point keeps Prefect's database under
`$COFRE_HOME/prefect` with a 120 s temporary-API start-up, `cofre ui` serves that home, and a
run's closing line says where to see it.

The entry points run as subprocesses in a clean environment (no PREFECT_*, no COFRE_*, HOME
in tmp so the user's `~/.prefect` stays out), because Prefect reads its settings once, at its
first import, and this test process imported Prefect long ago.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from blocks.runtime.prefect_home import use_cofre_prefect_home, where_to_see_run
from blocks.runtime.prefect_noise import NO_TELEMETRY

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import prefect.settings as s; print(s.PREFECT_HOME.value()); "
    "print(s.PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())"
)
UI_START_SECONDS = 240  # a cold server migrates a new SQLite database first


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "COFRE_"))}
    env.update(
        HOME=str(tmp_path / "user"),
        COFRE_HOME=str(tmp_path / "cofre"),
        PYTHONPATH=str(ROOT),
        DO_NOT_TRACK="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    env.update(extra)
    return env


def probe(tmp_path: Path, first_import: str, **extra: str) -> tuple[Path, float]:
    """(Prefect's home, its temporary-API timeout) as a process that imports `first_import`
    and then Prefect sees them."""
    result = subprocess.run(
        [sys.executable, "-c", f"{first_import}; {PROBE}"],
        cwd=tmp_path, env=clean_env(tmp_path, **extra), capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    home, timeout = result.stdout.strip().splitlines()[-2:]
    return Path(home), float(timeout)


@pytest.mark.parametrize(
    "first_import",
    [
        "import flows",
        "from flows.cli import app",  # what the `cofre` console script runs
        "import flows.full_pipeline",  # what `python -m flows.full_pipeline` imports first
        # what `panel serve panel_dashboard/app.py` imports first
        "import panel; import blocks.settings; import panel_dashboard",
    ],
)
def test_every_entry_point_uses_the_cofre_prefect_home(tmp_path, first_import):
    home, timeout = probe(tmp_path, first_import)
    assert home == (tmp_path / "cofre" / "prefect").resolve()
    assert timeout == 120
    assert (home.stat().st_mode & 0o777) == 0o700


def test_a_configured_server_changes_nothing(tmp_path):
    home, timeout = probe(tmp_path, "import flows", PREFECT_API_URL="http://127.0.0.1:9/api")
    assert home == tmp_path / "user" / ".prefect"
    assert timeout == 20  # Prefect's own default
    assert not (tmp_path / "cofre" / "prefect").exists()


def test_a_server_in_the_active_prefect_profile_changes_nothing(tmp_path):
    profiles = tmp_path / "user" / ".prefect" / "profiles.toml"
    profiles.parent.mkdir(parents=True)
    profiles.write_text(
        'active = "remote"\n[profiles.remote]\nPREFECT_API_URL = "http://127.0.0.1:9/api"\n'
    )
    home, timeout = probe(tmp_path, "import flows")
    assert home == tmp_path / "user" / ".prefect"
    assert timeout == 20
    assert not (tmp_path / "cofre" / "prefect").exists()


def test_an_explicit_prefect_home_is_kept(tmp_path):
    mine = tmp_path / "my-prefect"
    home, timeout = probe(tmp_path, "import flows", PREFECT_HOME=str(mine))
    assert home == mine
    assert timeout == 120  # still the temporary API: it gets the longer start-up
    assert not (tmp_path / "cofre" / "prefect").exists()


def test_an_explicit_timeout_is_kept(tmp_path):
    _, timeout = probe(
        tmp_path, "import flows", PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="45"
    )
    assert timeout == 45


def test_nothing_changes_once_prefect_is_imported(tmp_path):
    # This process imported Prefect (tests/conftest.py): its settings are read, so a new home
    # now would split the process between two databases.
    assert "prefect" in sys.modules
    env = {"COFRE_HOME": str(tmp_path)}
    assert use_cofre_prefect_home(env) is None
    # No home and no timeout; only telemetry off, for the processes Prefect starts later.
    assert env == {"COFRE_HOME": str(tmp_path), **NO_TELEMETRY}


def test_closing_line_with_the_temporary_api():
    from prefect.settings import PREFECT_API_URL, temporary_settings

    run_id = str(uuid.uuid4())
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        line = where_to_see_run(run_id)
    assert line == (
        "See this run in the Prefect UI: ./dev ui (or cofre ui), "
        f"then open http://127.0.0.1:4200/runs/flow-run/{run_id}"
    )


def test_closing_line_with_a_server_names_its_ui():
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL, temporary_settings

    run_id = str(uuid.uuid4())
    with temporary_settings(
        updates={PREFECT_API_URL: "http://prefect.internal:4200/api"},
        restore_defaults={PREFECT_UI_URL},
    ):
        derived = where_to_see_run(run_id)
    with temporary_settings(
        updates={
            PREFECT_API_URL: "http://prefect.internal:4200/api",
            PREFECT_UI_URL: "https://prefect.example.com",
        }
    ):
        explicit = where_to_see_run("local-123")  # no flow run: the UI itself
    assert (
        derived
        == f"See this run in the Prefect UI: http://prefect.internal:4200/runs/flow-run/{run_id}"
    )
    assert explicit == "See this run in the Prefect UI: https://prefect.example.com"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_cofre_ui_serves_the_cofre_prefect_home(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "ui.log"
    with log.open("w") as out:
        ui = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "ui", "--port", str(port)],
            cwd=tmp_path, env=clean_env(tmp_path), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + UI_START_SECONDS
        while not _healthy(url) and ui.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _healthy(url), log.read_text()[-3000:]
        assert httpx.get(url, timeout=10).status_code == 200  # the UI itself, not only the API
        home = (tmp_path / "cofre" / "prefect").resolve()
        assert (home / "prefect.db").exists()
        first = log.read_text().splitlines()[0]
        assert first.startswith(f"Prefect UI: {url}  (Prefect home {home};")
        os.kill(ui.pid, signal.SIGTERM)  # stops the server it started too
        assert ui.wait(timeout=60) == 0, log.read_text()[-3000:]
        with socket.socket() as sock:  # nothing serves the port any more
            assert sock.connect_ex(("127.0.0.1", port)) != 0
    finally:
        if ui.poll() is None:
            ui.kill()
            ui.wait()
        with contextlib.suppress(ProcessLookupError):  # a server a failure above left behind
            os.killpg(ui.pid, signal.SIGKILL)  # (the session `ui` leads)


def test_cofre_ui_refuses_a_busy_port_in_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "flows.cli", "ui", "--port", str(port)],
            cwd=tmp_path, env=clean_env(tmp_path), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert f"port {port} on 127.0.0.1 is in use" in output and "--port" in output
    assert "Cofre stopped:" in output and "Traceback" not in output


def test_cofre_ui_with_a_configured_server_names_its_ui_and_starts_nothing(tmp_path):
    env = clean_env(tmp_path, PREFECT_API_URL="http://prefect.internal:4200/api")
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "ui"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "its UI, http://prefect.internal:4200, shows Cofre's runs" in result.stdout
    assert not (tmp_path / "cofre" / "prefect").exists()


def test_a_block_saved_by_cofre_and_a_flows_run_share_one_prefect_database(tmp_path):
    env = clean_env(tmp_path, COFRE_SECRET_API_KEY="not-a-real-key")
    keys = subprocess.run(
        [sys.executable, "-m", "flows.cli", "keys", "init"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert keys.returncode == 0, keys.stdout + keys.stderr[-3000:]
    saved = subprocess.run(
        [sys.executable, "-m", "flows.cli", "secrets", "set", "api-key", "openweather"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert saved.returncode == 0, saved.stdout + saved.stderr[-3000:]
    ran = subprocess.run(
        [sys.executable, "-m", "flows.lifecycle", "--days", "30", "--dry-run"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    # The closing line goes through Prefect's console log, which may wrap it.
    output = "".join((ran.stdout + ran.stderr).split())
    expected = "See this run in the Prefect UI: ./dev ui (or cofre ui), then open "
    assert "".join(expected.split()) + "http://127.0.0.1:4200/runs/flow-run/" in output
    database = tmp_path / "cofre" / "prefect" / "prefect.db"
    with contextlib.closing(sqlite3.connect(database)) as db:
        blocks = [name for (name,) in db.execute("SELECT name FROM block_document")]
        runs = [
            name
            for (name,) in db.execute(
                "SELECT f.name FROM flow_run r JOIN flow f ON f.id = r.flow_id"
            )
        ]
    assert "openweather" in blocks
    assert runs == ["lifecycle"]
    assert not (tmp_path / "user" / ".prefect" / "prefect.db").exists()


def test_a_new_home_is_owner_only_from_the_first_import(tmp_path):
    """Importing `flows` creates `$COFRE_HOME/prefect`: the home it creates is 0700 even under
    a permissive umask, before any command closes it."""
    env = clean_env(tmp_path)
    code = "import os; os.umask(0o022); import flows"
    subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True, timeout=120)
    home = tmp_path / "cofre"
    assert (home.stat().st_mode & 0o777, (home / "prefect").stat().st_mode & 0o777) == (
        0o700,
        0o700,
    )
