"""Issue 19's common mistakes, each tried as a user would: one `Cofre stopped:` line saying
what to do, no traceback, and (for what can be checked locally) before Prefect's temporary
API or Spark's JVM starts. The commands run side by side: each is a fresh interpreter."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
COFRE = str(Path(sys.executable).parent / "cofre")
PIPELINE = [PYTHON, "-m", "flows.full_pipeline"]
# Signs that a failure came late: the temporary API or the JVM had started.
LATE = ("Starting temporary server", "log4j", "SparkContext", "Beginning flow run")


@dataclass(frozen=True)
class Case:
    command: list[str]
    expected: str  # in the `Cofre stopped:` line
    env: dict[str, str]
    early: bool = True  # stopped before Prefect's API or the JVM started


def _cases(tmp: Path, api_url: str, moto_endpoint: str) -> dict[str, Case]:
    dead = free_port()
    no_aws = {  # no credentials anywhere in the AWS chain, and no instance-metadata wait
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "none"),
        "AWS_CONFIG_FILE": str(tmp / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    partial = tmp / "olist-partial"
    subprocess.run([COFRE, "olist", "synth", "--out", str(partial), "--orders", "5"], check=True,
                   capture_output=True, env=_env(tmp), timeout=120)  # fmt: skip
    (partial / "olist_orders_dataset.csv").unlink()
    return {
        "s3 lake without credentials": Case(
            [*PIPELINE, "--lake", "s3://bucket"], "needs credentials and none were found", no_aws
        ),
        "s3 URL without a bucket": Case([*PIPELINE, "--lake", "s3://"], "names no bucket", {}),
        "lake URL of another scheme": Case(
            [*PIPELINE, "--lake", "gs://bucket"], "neither a directory nor s3://", {}
        ),
        "olist directory missing": Case(
            [*PIPELINE, "--olist-dir", str(tmp / "nonexistent")], "does not exist", {}
        ),
        "olist file missing": Case(
            [*PIPELINE, "--olist-dir", str(partial)], "olist_orders_dataset.csv: missing", {}
        ),
        "setting with a bad value": Case(
            PIPELINE, "COFRE_SOURCES (got 'Snapshot')", {"COFRE_SOURCES": "Snapshot"}
        ),
        "misspelt S3 credentials block": Case(
            [*PIPELINE, "--lake", "s3://bucket"],
            "COFRE_S3_CREDENTIALS_BLOCK names 'minoi'",
            {
                "COFRE_S3_CREDENTIALS_BLOCK": "minoi",
                "PREFECT_API_URL": api_url,
                "COFRE_S3_ENDPOINT_URL": moto_endpoint,
            },
            early=False,  # the block is looked up on the API; still no JVM, no flow run
        ),
        "PostgreSQL unreachable": Case(
            [*PIPELINE, "--warehouse", f"postgresql://cofre@127.0.0.1:{dead}/cofre"],
            f"PostgreSQL warehouse at 127.0.0.1:{dead} does not accept connections",
            {},
        ),
        "warehouse URL of another dialect": Case(
            [*PIPELINE, "--warehouse", "mysql://cofre@db/cofre"], "not a sqlite:/// or", {}
        ),
        "Prefect API unreachable": Case(
            PIPELINE,
            f"The Prefect API at http://127.0.0.1:{dead}/api is unreachable",
            {"PREFECT_API_URL": f"http://127.0.0.1:{dead}/api"},
        ),
        "Prefect API unreachable for cofre secrets": Case(
            [COFRE, "secrets", "list"],
            "is unreachable",
            {"PREFECT_API_URL": f"http://127.0.0.1:{dead}/api"},
        ),
        "Spark master unreachable": Case(
            [*PIPELINE, "--master", f"spark://127.0.0.1:{dead}"], "Spark master", {}
        ),
        "synthetic set to an unwritable place": Case(
            [COFRE, "olist", "synth", "--out", "/proc/nope", "--orders", "5"],
            "Cannot write the synthetic Olist set to /proc/nope",
            {},
        ),
    }


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    # no COFRE_ or PREFECT_API settings, no AWS credentials (the moto fixtures export some)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("COFRE_", "PREFECT_API", "AWS_"))
    }
    env.pop("PREFECT_HOME", None)
    return {**env, "COFRE_HOME": str(tmp / "home"), "DO_NOT_TRACK": "1", **extra}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory, prefect_api, moto_endpoint) -> dict:
    tmp = tmp_path_factory.mktemp("fail-fast")
    cases = _cases(tmp, prefect_api.url, moto_endpoint)

    def run(case: Case) -> subprocess.CompletedProcess:
        # cwd: an empty directory, so no ./.env of the checkout is read
        return subprocess.run(case.command, cwd=tmp, env=_env(tmp, **case.env),
                              capture_output=True, text=True, timeout=180)  # fmt: skip

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(cases, pool.map(run, cases.values()), strict=True))
    return {name: (cases[name], result) for name, result in results.items()}


CASE_NAMES = [
    "s3 lake without credentials",
    "s3 URL without a bucket",
    "lake URL of another scheme",
    "olist directory missing",
    "olist file missing",
    "setting with a bad value",
    "misspelt S3 credentials block",
    "PostgreSQL unreachable",
    "warehouse URL of another dialect",
    "Prefect API unreachable",
    "Prefect API unreachable for cofre secrets",
    "Spark master unreachable",
    "synthetic set to an unwritable place",
]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_a_common_mistake_ends_in_one_clean_line(outcomes, name):
    case, result = outcomes[name]
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    stopped = [line for line in output.splitlines() if line.startswith("Cofre stopped:")]
    assert len(stopped) == 1, output
    assert case.expected in stopped[0], output
    assert "Traceback" not in output and "╭" not in output, output  # rich's frames too
    late = ("log4j", "SparkContext", "Beginning flow run") if not case.early else LATE
    assert not [sign for sign in late if sign in output], output


def test_every_case_is_driven(outcomes):
    assert sorted(outcomes) == sorted(CASE_NAMES)


def test_debug_shows_the_traceback(tmp_path):
    command = [*PIPELINE, "--lake", "s3://", "--debug"]
    result = subprocess.run(
        command, cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "names no bucket" in result.stderr


def test_an_unexpected_error_is_one_line_that_says_how_to_see_more(monkeypatch, capsys):
    from flows.cli_exit import DEBUG_VARIABLE, stop_on_cofre_error

    monkeypatch.delenv(DEBUG_VARIABLE, raising=False)
    with pytest.raises(SystemExit) as stop, stop_on_cofre_error():
        raise RuntimeError("first line\nsecond line")
    assert stop.value.code == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        "Cofre stopped: RuntimeError: first line (unexpected: rerun with --debug for the traceback)"
    )
    monkeypatch.setenv(DEBUG_VARIABLE, "1")
    with pytest.raises(KeyError), stop_on_cofre_error():
        raise KeyError("shown whole")


def test_the_console_drops_tracebacks_and_the_other_handlers_keep_them():
    import io

    from flows.cli_exit import quiet_tracebacks_on_console

    console, kept = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    console_handler, other = logging.StreamHandler(console), logging.StreamHandler(kept)
    root.addHandler(console_handler)
    try:
        quiet_tracebacks_on_console()
        root.removeHandler(console_handler)  # the API handler's stand-in is installed after
        root.addHandler(console_handler)
        root.addHandler(other)
        other.setFormatter(logging.Formatter())
        try:
            raise ValueError("driver said no")
        except ValueError:
            logging.getLogger("tests.fail_fast").error("Task run failed", exc_info=True)
    finally:
        root.removeHandler(console_handler)
        root.removeHandler(other)
    assert "Task run failed" in console.getvalue()
    assert "Traceback" not in console.getvalue()
    assert "Traceback" in kept.getvalue() and "driver said no" in kept.getvalue()


def test_an_unreachable_warehouse_is_one_error_before_any_table(postgres):
    from blocks.errors import WarehouseUnreachable
    from blocks.settings import load_settings
    from tasks.warehouse.connection import connect_warehouse

    dead = free_port()
    with pytest.raises(WarehouseUnreachable, match=rf"127\.0\.0\.1:{dead}.*Check that Postgre"):
        connect_warehouse(load_settings(), f"postgresql://cofre@127.0.0.1:{dead}/cofre")
    wrong_user = postgres.url(with_password=False).replace("//postgres", "//nobody", 1)
    with pytest.raises(WarehouseUnreachable, match="nobody"):
        connect_warehouse(load_settings(), wrong_user)


# Issue 28: parsing and the checks run before Prefect, polars, pandera or pyspark load.
HEAVY = ("prefect", "polars", "pandera", "pyspark")
STAGES = ("full_pipeline", "ingestion", "silver", "gold", "warehouse", "lifecycle")


def _imported(importtime_stderr: str) -> set[str]:
    """Top-level packages named by `python -X importtime`'s lines."""
    names = set()
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_checks_its_command_line_before_importing_prefect(tmp_path, stage):
    command = [PYTHON, "-X", "importtime", "-m", f"flows.{stage}", "--lake", "gs://bucket"]
    result = subprocess.run(
        command, cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert "Cofre stopped: ConfigurationError: Lake URL 'gs://bucket'" in result.stderr
    imported = _imported(result.stderr)
    assert "pydantic_settings" in imported  # the settings were read: the parse is real
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))


@pytest.mark.parametrize(
    "arguments",
    [
        ["secrets", "list"],  # the Prefect API check
        ["olist", "synth", "--out", "/proc/nope", "--orders", "5"],  # the output directory
    ],
)
def test_the_cofre_cli_checks_before_importing_prefect(tmp_path, arguments):
    env = _env(tmp_path, PREFECT_API_URL=f"http://127.0.0.1:{free_port()}/api")
    command = [PYTHON, "-X", "importtime", "-m", "flows.cli", *arguments]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert result.returncode == 1 and "Cofre stopped:" in result.stderr, result.stderr[-2000:]
    assert not _imported(result.stderr) & set(HEAVY)


def test_help_and_a_flag_typo_answer_without_prefect(tmp_path):
    def run(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run([PYTHON, "-X", "importtime", *PIPELINE[1:], *arguments],
                              cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True,
                              timeout=120)  # fmt: skip

    helped = run("--help")
    assert helped.returncode == 0 and "--synthetic-orders" in helped.stdout
    # No abbreviations: `--synthetic-order` is a typo, not `--synthetic-orders`.
    typo = run("--synthetic-order", "5")
    assert typo.returncode == 2
    assert "unrecognized arguments: --synthetic-order 5" in typo.stderr, typo.stderr[-500:]
    for result in (helped, typo):
        assert not _imported(result.stderr) & set(HEAVY)


def test_an_unknown_cofre_variable_is_one_warning_with_the_closest_name(tmp_path):
    (tmp_path / ".env").write_text("COFRE_MASKING_POLICI=seed\nCOFRE_SOURCES=snapshot\n")
    env = _env(tmp_path, COFRE_SOURCE="snapshot")
    for command in ([*PIPELINE, "--lake", "gs://bucket"], [COFRE, "keys", "list"]):
        result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                                timeout=120)  # fmt: skip
        warnings = [line for line in result.stderr.splitlines() if "unknown setting" in line]
        assert len(warnings) == 2, result.stderr[-2000:]
        assert (
            "unknown setting COFRE_SOURCE (did you mean COFRE_SOURCES?) in the environment"
            in (warnings[1])
        )
        assert "COFRE_MASKING_POLICI (did you mean COFRE_MASKING_POLICY?) in .env" in warnings[0]


def test_known_and_secret_variables_are_not_unknown(tmp_path):
    from blocks.env_settings import unknown_setting_warnings

    environ = {"COFRE_HOME": "x", "COFRE_DEBUG": "1", "COFRE_SECRET_PASSWORD": "p", "PATH": "/"}
    assert unknown_setting_warnings(environ, tmp_path / "no.env") == []
    assert unknown_setting_warnings({"COFRE_ZZZ": "1"}, tmp_path / "no.env") == [
        "Cofre warning: unknown setting COFRE_ZZZ in the environment is ignored; fix or remove "
        "it (the settings are listed in README.md, Configuration)."
    ]


def test_the_ingestion_cli_names_the_flows_sources():
    from flows.ingestion import SOURCES
    from flows.stage_cli import INGESTION_SOURCES

    assert INGESTION_SOURCES == SOURCES
