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
