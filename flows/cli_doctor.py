"""`cofre doctor`: is this machine and this home ready for a run? One line per check.

    ok    python      3.11.9
    FAIL  keyring     Keyring file data/keyring.json is readable by group or others ...

Each check is a plain function returning what it found (ok) or raising a `CofreError` whose
message says what to do (FAIL). Exit code 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import typer

MIN_PYTHON = (3, 11)
Finding = tuple[str, bool, str]  # check, passed, what was found or what to do


def doctor_command() -> None:
    """Check Python, Java (Spark engine only), the keyring, the Prefect API, the blocks'
    seals, the lake and the warehouse; one line each; exit 1 if any fails."""
    findings = run_checks()
    for name, passed, detail in findings:
        typer.echo(f"{'ok' if passed else 'FAIL':<5} {name:<10} {detail}")
    failed = [name for name, passed, _ in findings if not passed]
    if failed:
        typer.echo(f"{len(failed)} check(s) failed: {', '.join(failed)}.", err=True)
        raise typer.Exit(1)
    typer.echo(f"All {len(findings)} checks passed.")


def run_checks() -> list[Finding]:
    """Every check in order; a failed settings check stops the rest (they need settings)."""
    from blocks.errors import CofreError
    from blocks.settings import load_settings

    findings: list[Finding] = [_finding("python", check_python)]
    try:
        settings = load_settings()
    except CofreError as exc:
        return [*findings, ("settings", False, str(exc))]
    checks: list[tuple[str, Callable[[], str]]] = [
        ("java", lambda: check_java(settings)),
        ("keyring", lambda: check_keyring(settings)),
        ("prefect", check_prefect),
    ]
    findings += [_finding(name, check) for name, check in checks]
    if findings[-1][1]:
        findings.append(_finding("blocks", check_block_seals))
    else:
        findings.append(("blocks", False, "not checked: the Prefect API does not answer"))
    findings.append(_finding("lake", lambda: check_lake_writable(settings)))
    findings.append(_finding("warehouse", lambda: check_warehouse(settings)))
    return findings


def _finding(name: str, check: Callable[[], str]) -> Finding:
    from blocks.errors import CofreError

    try:
        return name, True, check()
    except CofreError as exc:
        return name, False, str(exc)
    except Exception as exc:  # a check must never end the report
        return name, False, f"{type(exc).__name__}: {str(exc).strip()[:300]}"


def check_python() -> str:
    found = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info < MIN_PYTHON:
        from blocks.errors import ConfigurationError

        raise ConfigurationError(
            f"Python {found} is too old: Cofre needs 3.11 or newer. Install it and recreate "
            "the virtualenv (rm -rf .venv; ./dev run)."
        )
    return found


def check_java(settings) -> str:
    """Java only matters when gold runs on Spark (`--engine spark`, or a Spark master)."""
    from blocks.errors import ConfigurationError
    from spark.engine import choose_engine

    try:
        engine = choose_engine(settings.gold_engine, settings.spark_master)
    except ValueError as exc:
        raise ConfigurationError(f"{exc} (COFRE_GOLD_ENGINE)") from None
    if engine != "spark":
        return f"not needed (gold engine {engine})"
    java = shutil.which("java")
    problem = "no `java` on PATH"
    if java:
        answer = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
        if answer.returncode == 0:
            return f"{(answer.stderr or answer.stdout).splitlines()[0]} ({java})"
        problem = f"`{java} -version` failed"
    raise ConfigurationError(
        f"The Spark engine needs Java 17 or 21, and {problem}. Install a JDK (apt-get install "
        "openjdk-17-jre-headless), or use the DuckDB engine (COFRE_GOLD_ENGINE=duckdb)."
    )


def check_keyring(settings) -> str:
    """The keyring loads: a file that is owner-only (0600), or COFRE_FERNET_KEYS."""
    import stat

    from blocks.secrets.keyring import load_keyring

    keyring = load_keyring(settings)  # KeyringError: missing, group/other-readable, malformed
    path = settings.resolved_keyring_file
    if settings.fernet_keys is not None or not path.exists():
        return f"from COFRE_FERNET_KEYS ({len(keyring.keys)} key(s))"
    mode = stat.S_IMODE(path.stat().st_mode)
    return f"{path}, mode {mode:04o}, {len(keyring.keys)} key(s)"


def check_prefect() -> str:
    from blocks.runtime.prefect_home import configured_api_url
    from flows.preflight import check_prefect_api

    url = configured_api_url()
    if not url:
        return "no server configured: each run starts a temporary API on $COFRE_HOME/prefect"
    check_prefect_api()  # ConfigurationError naming PREFECT_API_URL
    return f"{url} answers"


def check_block_seals() -> str:
    from blocks.errors import BlockSealBroken
    from flows.secrets_commands import verify_saved_blocks

    results = verify_saved_blocks()
    if bad := [f"{label}: {problem}" for label, problem in results if problem]:
        raise BlockSealBroken(
            f"{len(bad)} of {len(results)} block(s) fail their seal (audited as "
            f"SECURITY_INCIDENT): {'; '.join(bad)}. See docs/security.md before resealing."
        )
    return f"{len(results)} Cofre block(s) sealed and bound" if results else "no blocks saved"


def check_lake_writable(settings) -> str:
    """The lake's URL and credentials (flows/preflight.py); a local lake takes a file."""
    from blocks.errors import ConfigurationError
    from blocks.lake.home_lock import uses_s3
    from flows.preflight import check_lake

    check_lake(settings)
    url = settings.resolved_lake_url
    if uses_s3(settings):
        return f"{url} (credentials found; not written to)"
    root = Path(url.removeprefix("file://")).expanduser()
    if not root.exists():
        return f"{root} (will be created)"
    probe = root / f".cofre-doctor-{uuid.uuid4().hex[:8]}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigurationError(
            f"The lake directory {root} is not writable ({exc.strerror}): fix its owner or "
            "mode, or choose another with COFRE_LAKE_URL."
        ) from None
    return f"{root} writable"


def check_warehouse(settings) -> str:
    """The configured warehouse accepts a connection (WarehouseUnreachable says what to fix)."""
    from flows.preflight import check_creatable
    from tasks.warehouse.connection import connect_warehouse

    url = settings.resolved_warehouse_url
    if url.startswith("sqlite:///"):
        database = Path(url.removeprefix("sqlite:///")).expanduser()
        if not database.exists():  # connecting would create it: only say it can be
            check_creatable(database.parent, "warehouse directory")
            return f"{url} (will be created)"
    warehouse = connect_warehouse(settings)
    try:
        with warehouse.engine.connect():
            pass
    finally:
        warehouse.dispose()
    return f"{warehouse.description} answers"
