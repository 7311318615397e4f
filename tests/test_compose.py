"""compose.yaml validates with docker-compose; its secrets come only from a git-ignored env file."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _config(*args: str) -> subprocess.CompletedProcess:
    compose = shutil.which("docker-compose")
    assert compose, "docker-compose is required (./dev test installs Debian's docker-compose)"
    return subprocess.run(
        [compose, *args, "-f", str(ROOT / "compose.yaml"), "config"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_compose_file_validates_with_the_example_env():
    result = _config("--env-file", str(ROOT / ".env.example"))
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    services = config["services"]
    assert {"postgres", "minio", "minio-buckets", "prefect-server", "prefect-worker",
            "dashboard", "cofre-setup"} <= set(services)  # fmt: skip
    for name in ("postgres", "minio", "prefect-server", "prefect-worker", "dashboard"):
        assert "healthcheck" in services[name], name
    assert services["prefect-server"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["prefect-worker"]["depends_on"]["cofre-setup"]["condition"] == (
        "service_completed_successfully"
    )
    assert "MINIO_KMS_SECRET_KEY" in services["minio"]["environment"]


def test_secrets_are_required_from_the_env_file(tmp_path):
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = _config("--env-file", str(empty))
    assert result.returncode != 0
    assert "in .env" in result.stderr


def test_example_env_holds_placeholders_only_and_env_is_ignored():
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, value = line.split("=", 1)
        looks_placeholder = bool(re.search(r"change-me|REPLACE_WITH", value))
        assert looks_placeholder or name in {"POSTGRES_USER", "POSTGRES_DB", "MINIO_BUCKET"}, name
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
