"""Shared fixtures: real services started once per test session.

- `moto_endpoint`: moto's S3 API over HTTP on 127.0.0.1 (ThreadedMotoServer).
- `prefect_api`: one Prefect test API for the whole session (starting one costs ~10 s).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# Before anything imports Prefect: no telemetry, no analytics, never the internet.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

# Prefect sets up logging when `prefect.main` is first imported (lazily, e.g. by the first
# `from prefect import task`), replacing the root logger's handlers: pytest's log capture
# (`caplog`) would vanish in whichever test came first. Import it before any test runs.
import prefect.main  # noqa: F401


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def cofre_home(tmp_path, monkeypatch) -> Iterator:
    """Every test gets its own COFRE_HOME and no inherited COFRE_* configuration."""
    for name in list(os.environ):
        if name.startswith("COFRE_"):
            monkeypatch.delenv(name)
    home = tmp_path / "cofre-home"
    monkeypatch.setenv("COFRE_HOME", str(home))
    yield home


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator:
    """A real PostgreSQL 15 server for the session (see tests/services.py)."""
    from tests.services import start_postgres, stop_postgres

    server = start_postgres()
    yield server
    stop_postgres(server)


@pytest.fixture
def s3_bucket(moto_endpoint) -> str:
    """A fresh, empty bucket on the moto server."""
    import boto3

    name = f"cofre-test-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=name)
    return name


@dataclass(frozen=True)
class PrefectApi:
    url: str
    database_dir: Path  # the server's SQLite files, to scan for leaked secrets


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[PrefectApi]:
    """One real Prefect API (a server subprocess with its own SQLite DB) for the session."""
    import prefect.settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        database_url = prefect.settings.PREFECT_SERVER_DATABASE_CONNECTION_URL.value()
        database = Path(database_url.split(":///", 1)[1])
        yield PrefectApi(prefect.settings.PREFECT_API_URL.value(), database.parent)


def flush_prefect_logs() -> None:
    """Send buffered run logs to the API now (they are batched in the background)."""
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)


def files_containing(root: Path, marker: str) -> list[Path]:
    """Every file under `root` whose bytes contain `marker` (UTF-8)."""
    needle = marker.encode()
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]
