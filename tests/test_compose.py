"""compose.yaml validates with docker-compose; its secrets come only from a git-ignored env file."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
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


def _raw_compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order; continuation lines joined, heredoc bodies skipped."""
    text = re.sub(
        r"<<(\w+)\n.*?\n\1\n", "<<heredoc\n", (ROOT / "Dockerfile").read_text(), flags=re.S
    )
    joined = re.sub(r"\\\n", " ", text)
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in (raw.strip() for raw in joined.splitlines())
        if line and not line.startswith("#")
    ]


def test_cofre_setup_keeps_its_audit_records_in_the_shared_home():
    services = _raw_compose()["services"]
    home = services["cofre-setup"]["environment"]["COFRE_HOME"]
    for name in ("cofre-setup", "prefect-worker", "dashboard"):
        assert f"cofre-home:{home}" in services[name].get("volumes", []), name


def test_every_image_tag_is_pinned():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    images = {name: s["image"] for name, s in _raw_compose()["services"].items() if "image" in s}
    images |= {f"Dockerfile FROM {a}": a for op, a in _dockerfile_instructions() if op == "FROM"}
    assert len(images) >= 8
    for where, image in images.items():
        name, _, tag = image.rpartition(":")
        assert name and "/" not in tag, f"{where}: {image} has no tag"
        assert re.match(r"(\d+\.\d+|RELEASE\.\d{4}-)", tag), f"{where}: {image} is not pinned"
        if name == "cofre":
            assert tag == version, f"{where}: the cofre image tag follows pyproject ({version})"


def test_cofre_image_runs_as_a_non_root_user():
    instructions = _dockerfile_instructions()
    users = [i for i, (op, _) in enumerate(instructions) if op == "USER"]
    assert users, "the Dockerfile sets no USER: the image would run as root"
    user = instructions[users[-1]][1].split(":")[0].strip()
    assert user not in {"root", "0"}, user
    last_run = max(i for i, (op, _) in enumerate(instructions) if op == "RUN")
    assert users[-1] > last_run, "USER must come after the install steps"


def test_the_prefect_api_requires_authentication_from_an_env_value():
    """The server turns API auth on and every Cofre service sends it; the value only ever comes
    from `.env` (compose interpolation), never a literal in the file."""
    services = _raw_compose()["services"]
    server = services["prefect-server"]["environment"]["PREFECT_SERVER_API_AUTH_STRING"]
    assert server.startswith("${PREFECT_API_AUTH_STRING:?")
    for name in ("cofre-setup", "prefect-worker", "dashboard"):
        client = services[name]["environment"]["PREFECT_API_AUTH_STRING"]
        assert client == server, name
    resolved = yaml.safe_load(_config("--env-file", str(ROOT / ".env.example")).stdout)
    example = "admin:change-me-prefect-api-auth"
    assert (
        resolved["services"]["prefect-server"]["environment"]["PREFECT_SERVER_API_AUTH_STRING"]
        == example
    )
    assert (
        resolved["services"]["prefect-worker"]["environment"]["PREFECT_API_AUTH_STRING"] == example
    )
    assert "admin:" not in (ROOT / "compose.yaml").read_text()


def test_the_image_and_setup_create_the_locked_pool():
    assert ("COPY", "deploy deploy") in _dockerfile_instructions()
    setup = re.sub(r"\s*\\\n\s*", " ", (ROOT / "docker" / "setup.sh").read_text())
    assert (
        "prefect work-pool create cofre-local --type process "
        "--base-job-template deploy/cofre-local-pool.json --overwrite"
    ) in setup
