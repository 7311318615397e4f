"""Real services for tests, started from installed binaries (no Docker needed).

PostgreSQL 15 from /usr/lib/postgresql/15/bin: `initdb` + `pg_ctl` in a temporary directory,
listening on a free 127.0.0.1 port, password (SCRAM) authentication over TCP. As root the
server runs as the `postgres` user (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path(os.environ.get("COFRE_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str
    password: str
    directory: Path

    def url(self, database: str = "postgres", *, with_password: bool = True) -> str:
        secret = f":{self.password}" if with_password else ""
        return f"postgresql://{self.user}{secret}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name


def _as_postgres(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def start_postgres(password: str = "cofre-test-pw") -> Postgres:
    if not (PG_BIN / "initdb").exists():
        raise RuntimeError(
            f"PostgreSQL binaries not found in {PG_BIN}: install postgresql-15 "
            "(apt-get install postgresql-15) or set COFRE_TEST_PG_BIN."
        )
    directory = Path(tempfile.mkdtemp(prefix="cofre-pg-"))
    data, pwfile = directory / "data", directory / "pwfile"
    pwfile.write_text(password + "\n")
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        for path in (directory, pwfile):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    subprocess.run(
        _as_postgres([
            str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", f"--pwfile={pwfile}",
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-instructions",
        ]),
        check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    options = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_postgres([
            str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l",
            str(directory / "server.log"), "-w", "-t", "60", "start",
        ]),
        check=True, capture_output=True,
    )  # fmt: skip
    return Postgres("127.0.0.1", port, "postgres", password, directory)


def stop_postgres(server: Postgres) -> None:
    subprocess.run(
        _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(server.directory / "data"), "-m", "fast",
                      "-w", "stop"]),
        capture_output=True,
    )  # fmt: skip
    shutil.rmtree(server.directory, ignore_errors=True)


@dataclass
class PrefectServer:
    url: str
    home: Path
    process: subprocess.Popen

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a CLI or worker talking to this server."""
        return {**os.environ, "PREFECT_API_URL": self.url, "PREFECT_HOME": str(self.home), **extra}


def start_prefect_server(
    home: Path, timeout: float = 120, extra_env: dict[str, str] | None = None
) -> PrefectServer:
    """A real `prefect server start` on a free port, with its own home and SQLite database.
    `extra_env` adds server settings (e.g. PREFECT_SERVER_API_AUTH_STRING)."""
    import time

    import httpx

    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        "PREFECT_SERVER_UI_ENABLED": "false",
        **(extra_env or {}),
    }
    env.pop("PREFECT_API_URL", None)
    log = open(home / "server.log", "wb")  # noqa: SIM115 - lives as long as the server
    process = subprocess.Popen(
        [_prefect(), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prefect server exited: see {home / 'server.log'}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return PrefectServer(url, home, process)
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop_process_group(process)
    raise RuntimeError(f"prefect server did not start in {timeout} s: see {home / 'server.log'}")


def start_worker(
    server: PrefectServer, pool: str, cwd: Path, log_path: Path, env: dict | None = None
) -> subprocess.Popen:
    """A process worker in its own session, so SIGTERM to its group stops it and its runs."""
    log = open(log_path, "wb")  # noqa: SIM115 - lives as long as the worker
    return subprocess.Popen(
        [_prefect(), "worker", "start", "--pool", pool, "--type", "process"],
        cwd=cwd, env=env or server.env(), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def stop_process_group(process: subprocess.Popen, timeout: float = 20) -> None:
    import signal

    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout)


def _prefect() -> str:
    import sys

    return str(Path(sys.executable).parent / "prefect")
