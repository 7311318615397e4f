"""Sealed authority: a setting, `.env` or a flow parameter cannot send a credential elsewhere.

Real services: moto's S3 server, PostgreSQL 15 and a Prefect API. The attacker's side is a
plain TCP listener on 127.0.0.1 that records every connection and every byte it receives; a
`FakePostgres` listener also asks for a cleartext password, as a malicious server would, so a
client that would send the password does send it there. Each attack must end in a refusal
naming the setting and the sealed value's block, a SECURITY_INCIDENT, and a listener that saw
nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from blocks import audit
from blocks.errors import ConfigurationError
from blocks.lake import Lake
from blocks.secrets.keyring import ensure_keyring
from blocks.settings import EnvOnlySettings, load_settings
from flows.options import PipelineOptions
from tasks.warehouse.connection import connect_warehouse
from tests.prefect_rest import cofre_ok, delete_all_cofre_blocks, delete_cofre_configs

ROOT = Path(__file__).resolve().parents[2]
MARKER = "SEALED-marker-4c19e2"
KEY_ID = f"AKIDSEALED{MARKER[-6:].upper()}"


@pytest.fixture
def api(prefect_api):
    """A Prefect API holding no Cofre block and no config but this test's; a local keyring."""
    delete_all_cofre_blocks()
    delete_cofre_configs(prefect_api.url)
    ensure_keyring()
    yield prefect_api
    delete_all_cofre_blocks()
    delete_cofre_configs(prefect_api.url)


def _sets(*assignments: str) -> list[str]:
    return [x for a in assignments for x in ("--set", a)]


def _s3_block(name: str, endpoint: str | None, monkeypatch) -> None:
    monkeypatch.setenv("COFRE_SECRET_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("COFRE_SECRET_SECRET_ACCESS_KEY", f"SK-{MARKER}")
    endpoint_set = _sets(f"endpoint_url={endpoint}") if endpoint else []  # None: AWS's own
    cofre_ok("secrets", "set", "s3", name, *endpoint_set)


def _config(name: str, *assignments: str) -> None:
    cofre_ok("config", "set", name, *_sets(*assignments))


def _records(action: str, target: str) -> list[dict]:
    settings = EnvOnlySettings()
    if not (settings.resolved_audit_dir / "audit.jsonl").exists():
        return []
    records = audit.read_records(settings)
    return [r for r in records if r["action"] == action and r["target"] == target]


def _incidents(target: str) -> list[dict]:
    return _records("SECURITY_INCIDENT", target)


def _reads(target: str) -> list[dict]:
    return _records("SECRET_READ", target)


def _attempt(action) -> Exception | None:
    try:
        action()
    except Exception as exc:  # the test inspects whatever came out
        return exc
    return None


def _write_through_settings() -> None:
    Lake.from_settings(load_settings()).write_bytes("bronze", "olist/pii.csv", b"cpf,name\n")


def _assert_refused(error, *names: str) -> None:
    assert isinstance(error, ConfigurationError), repr(error)
    message = str(error)
    assert "\n" not in message and MARKER not in message and KEY_ID not in message
    for name in names:
        assert name in message, message
    assert "SECURITY_INCIDENT" in message


# -- S3 -------------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["environment", ".env"])
def test_an_s3_endpoint_setting_cannot_redirect_the_sealed_key(
    api, listener, moto_endpoint, s3_bucket, monkeypatch, tmp_path, where
):
    _s3_block("lake-s3", moto_endpoint, monkeypatch)
    monkeypatch.setenv("COFRE_S3_CREDENTIALS_BLOCK", "lake-s3")
    monkeypatch.setenv("COFRE_LAKE_URL", f"s3://{s3_bucket}/lake")
    if where == "environment":
        monkeypatch.setenv("COFRE_S3_ENDPOINT_URL", listener.url)
    else:
        monkeypatch.chdir(tmp_path)
        (tmp_path / ".env").write_text(f"COFRE_S3_ENDPOINT_URL={listener.url}\n")
    error = _attempt(_write_through_settings)
    assert listener.connections == 0 and not listener.saw(KEY_ID)
    _assert_refused(error, "COFRE_S3_ENDPOINT_URL", "cofre-s3-credentials/lake-s3", where)
    [incident] = _incidents("cofre-s3-credentials/lake-s3")
    assert incident["details"]["setting"].startswith("COFRE_S3_ENDPOINT_URL")
    assert incident["outcome"] == "failure"
    assert _reads("cofre-s3-credentials/lake-s3") == []  # refused before decrypting
    assert MARKER not in (EnvOnlySettings().resolved_audit_dir / "audit.jsonl").read_text()


def test_the_sealed_endpoint_repeated_in_the_environment_is_fine(
    api, moto_endpoint, s3_bucket, monkeypatch
):
    import boto3

    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=s3_bucket + "-x")
    _s3_block("lake-s3", moto_endpoint, monkeypatch)
    monkeypatch.setenv("COFRE_S3_CREDENTIALS_BLOCK", "lake-s3")
    monkeypatch.setenv("COFRE_LAKE_URL", f"s3://{s3_bucket}/lake")
    monkeypatch.setenv("COFRE_S3_ENDPOINT_URL", moto_endpoint + "/")  # same endpoint
    lake = Lake.from_settings(load_settings())
    lake.write_bytes("silver", "a.txt", b"a")
    assert lake.read_bytes("silver", "a.txt") == b"a"
    assert lake.fs.client_kwargs["endpoint_url"] == moto_endpoint
    assert _incidents("cofre-s3-credentials/lake-s3") == []


def test_a_config_sealed_endpoint_wins_over_the_environment(
    api, listener, moto_endpoint, s3_bucket, monkeypatch
):
    """No credentials block: the AWS chain's key, but the endpoint is sealed in the config."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    _config("team", f"s3_endpoint_url={moto_endpoint}", f"lake_url=s3://{s3_bucket}/lake")
    monkeypatch.setenv("COFRE_CONFIG_BLOCK", "team")
    monkeypatch.setenv("COFRE_S3_ENDPOINT_URL", listener.url)
    error = _attempt(_write_through_settings)
    assert listener.connections == 0 and not listener.saw(KEY_ID)
    _assert_refused(error, "COFRE_S3_ENDPOINT_URL", "cofre-config/team")
    assert _incidents("cofre-config/team")
    monkeypatch.delenv("COFRE_S3_ENDPOINT_URL")  # the sealed endpoint alone works
    _write_through_settings()


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"])
def test_botocores_endpoint_variables_cannot_redirect_a_key_sealed_for_aws(
    api, listener, s3_bucket, monkeypatch, variable
):
    """A block sealed for AWS's default endpoint: botocore itself would honour these."""
    from blocks.secrets.credentials import S3Credentials

    _s3_block("aws-s3", None, monkeypatch)
    monkeypatch.setenv("COFRE_S3_CREDENTIALS_BLOCK", "aws-s3")
    monkeypatch.setenv("COFRE_LAKE_URL", f"s3://{s3_bucket}/lake")
    monkeypatch.setenv(variable, listener.url)
    error = _attempt(_write_through_settings)
    assert listener.connections == 0 and not listener.saw(KEY_ID)
    _assert_refused(error, variable, "cofre-s3-credentials/aws-s3", "AWS default endpoint")
    assert _incidents("cofre-s3-credentials/aws-s3")
    # Below the refusal, the block's own clients never take an endpoint from the environment.
    options = S3Credentials.require("aws-s3").s3fs_options()
    lake = Lake.from_url(f"s3://{s3_bucket}", storage_options=options)
    lake.fs.connect()  # builds the client; no request is sent
    assert "amazonaws.com" in lake.fs.s3.meta.endpoint_url
    assert "amazonaws.com" in lake.s3_client().meta.endpoint_url
    assert listener.connections == 0


def test_a_flow_asked_for_another_endpoint_stops_with_one_line(
    api, listener, moto_endpoint, s3_bucket, monkeypatch, cofre_home
):
    _s3_block("lake-s3", moto_endpoint, monkeypatch)
    env = {
        "PREFECT_API_URL": api.url,
        "COFRE_HOME": str(cofre_home),
        "COFRE_S3_CREDENTIALS_BLOCK": "lake-s3",
        "COFRE_S3_ENDPOINT_URL": listener.url,  # e.g. a run's job_variables.env
    }
    result = _cli("flows.lifecycle", "--lake", f"s3://{s3_bucket}", "--dry-run", env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    stops = [line for line in result.stderr.splitlines() if line.startswith("Cofre stopped:")]
    assert len(stops) == 1, result.stderr
    for text in ("RedirectRefused", "COFRE_S3_ENDPOINT_URL", "cofre-s3-credentials/lake-s3"):
        assert text in stops[0], stops[0]
    assert "Traceback" not in result.stderr and KEY_ID not in result.stderr + result.stdout
    assert listener.connections == 0
    assert _incidents("cofre-s3-credentials/lake-s3")


def _cli(module: str, *args: str, env: dict[str, str]):
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


# -- the warehouse --------------------------------------------------------------------------
def _database(postgres) -> str:
    return postgres.create_database(f"wh_{uuid.uuid4().hex[:8]}")


def _fake_url(fake_pg) -> str:
    return f"postgresql://cofre@127.0.0.1:{fake_pg.port}/cofre"


def _connect_with_parameter(url: str):
    """What a flow run does with its `warehouse_url` parameter (flows/warehouse.py)."""
    warehouse = connect_warehouse(PipelineOptions(warehouse_url=url).settings())
    warehouse.dispose()
    return warehouse


def test_a_parameter_cannot_send_pgpassword_to_another_host(api, fake_pg, monkeypatch, cofre_home):
    """The issue's attack, through the warehouse flow itself, with gold ready to load."""
    from flows.warehouse import warehouse
    from tests.tasks.gold.publish import publish_frames
    from tests.tasks.warehouse.gold_frames import gold_frames

    publish_frames(Lake.from_url(str(cofre_home / "lake")), "g1", gold_frames())
    monkeypatch.setenv("PGPASSWORD", f"PW-{MARKER}")
    error = _attempt(lambda: warehouse(warehouse_url=_fake_url(fake_pg)))
    assert not fake_pg.saw(MARKER) and fake_pg.connections == 0
    _assert_refused(error, "warehouse_url", "PGPASSWORD", "COFRE_WAREHOUSE_URL")
    [incident] = _incidents("warehouse-password/PGPASSWORD")
    assert incident["details"]["requested"] == f"127.0.0.1:{fake_pg.port}"


def test_a_full_pipeline_parameter_is_refused_before_any_work(
    api, fake_pg, monkeypatch, cofre_home
):
    """A deployment run of `full_pipeline` with a redirecting `warehouse_url` stops at its
    start: nothing ingested, nothing built, no password sent."""
    from flows.full_pipeline import full_pipeline

    monkeypatch.setenv("PGPASSWORD", f"PW-{MARKER}")
    error = _attempt(
        lambda: full_pipeline(
            synthetic_orders=200, sources="snapshot", warehouse_url=_fake_url(fake_pg)
        )
    )
    assert not fake_pg.saw(MARKER) and fake_pg.connections == 0
    _assert_refused(error, "warehouse_url", "PGPASSWORD", "COFRE_WAREHOUSE_URL")
    assert not (cofre_home / "lake" / "bronze").exists()  # refused before ingestion


def test_a_pgpass_password_stays_with_its_host(fake_pg, monkeypatch, tmp_path):
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"*:*:*:*:PW-{MARKER}\n")
    passfile.chmod(0o600)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    error = _attempt(lambda: _connect_with_parameter(_fake_url(fake_pg)))
    assert not fake_pg.saw(MARKER) and fake_pg.connections == 0
    _assert_refused(error, "warehouse_url", "PGPASSFILE")
    assert _incidents("warehouse-password/PGPASSFILE")


@pytest.mark.parametrize(
    "shape",
    [
        "postgres://cofre@127.0.0.1:{port}/cofre",
        "postgresql+psycopg://cofre@127.0.0.1:{port}/cofre",
        "postgresql://cofre@/cofre?host=127.0.0.1&port={port}",
        "postgresql://cofre@127.0.0.1:5999/cofre?port={port}",
        "postgresql://cofre@127.0.0.1:5999/cofre?hostaddr=127.0.0.1&port={port}",
    ],
)
def test_no_url_shape_routes_the_password_past_the_check(fake_pg, monkeypatch, shape):
    monkeypatch.setenv("PGPASSWORD", f"PW-{MARKER}")
    monkeypatch.setenv("COFRE_WAREHOUSE_URL", "postgresql://cofre@127.0.0.1:5999/cofre")
    error = _attempt(lambda: _connect_with_parameter(shape.format(port=fake_pg.port)))
    assert fake_pg.connections == 0 and not fake_pg.saw(MARKER)
    _assert_refused(error, "warehouse_url", "PGPASSWORD", "127.0.0.1:5999")


def test_a_parameter_may_narrow_the_database_but_not_weaken_the_connection(monkeypatch):
    from tasks.warehouse.authority import warehouse_target

    monkeypatch.setenv("PGPASSWORD", f"PW-{MARKER}")
    configured = "postgresql://cofre@db.internal:5432/cofre?sslmode=verify-full"
    monkeypatch.setenv("COFRE_WAREHOUSE_URL", configured)
    narrower = "postgresql://reader@db.internal/marts?sslmode=verify-full"
    settings = PipelineOptions(warehouse_url=narrower).settings()
    assert warehouse_target(settings).url == narrower  # same server, same way
    for weaker in (
        "postgresql://cofre@db.internal:5432/cofre?sslmode=disable",
        "postgresql://cofre@db.internal:5432/cofre",  # libpq's default: sslmode=prefer
    ):
        with pytest.raises(ConfigurationError, match="PGPASSWORD"):
            warehouse_target(PipelineOptions(warehouse_url=weaker).settings())


def test_a_parameter_cannot_name_a_password_file_for_another_host(fake_pg, monkeypatch, tmp_path):
    """No PGPASSWORD, no ~/.pgpass: the URL itself asks libpq to read a password file."""
    passfile = tmp_path / "service-pgpass"
    passfile.write_text(f"*:*:*:*:PW-{MARKER}\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.pgpass
    url = f"{_fake_url(fake_pg)}?passfile={passfile}"
    error = _attempt(lambda: _connect_with_parameter(url))
    assert fake_pg.connections == 0 and not fake_pg.saw(MARKER)
    _assert_refused(error, "warehouse_url", "passfile= in the URL")
    assert _incidents("warehouse-password/passfile")


def test_several_hosts_in_one_url_are_refused_before_connecting(fake_pg, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", f"PW-{MARKER}")
    url = f"postgresql://cofre@127.0.0.1:5999,127.0.0.1:{fake_pg.port}/cofre"
    with pytest.raises(ConfigurationError, match="is not a sqlite:/// or postgresql:// URL"):
        _connect_with_parameter(url)
    assert fake_pg.connections == 0


def test_the_operators_host_may_be_repeated_or_narrowed_to_another_database(postgres, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", postgres.password)
    configured = postgres.url(_database(postgres), with_password=False)
    monkeypatch.setenv("COFRE_WAREHOUSE_URL", configured)
    _connect_with_parameter(configured)
    other = _database(postgres)  # same host and port, another database
    assert _connect_with_parameter(configured.rsplit("/", 1)[0] + f"/{other}").description.endswith(
        f"/{other}"
    )
    assert _incidents("warehouse-password/PGPASSWORD") == []


def test_the_sealed_config_may_allow_a_parameter_to_name_any_host(api, postgres, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", postgres.password)
    url = postgres.url(_database(postgres), with_password=False)
    with pytest.raises(ConfigurationError, match="warehouse_any_host"):
        _connect_with_parameter(url)
    _config("team", "warehouse_any_host=true")
    monkeypatch.setenv("COFRE_CONFIG_BLOCK", "team")
    _connect_with_parameter(url)


def test_a_sealed_warehouse_block_wins_over_any_url(api, postgres, fake_pg, monkeypatch):
    database = _database(postgres)
    monkeypatch.setenv("COFRE_SECRET_PASSWORD", postgres.password)
    cofre_ok(
        "secrets", "set", "postgres", "pg-wh",
        *_sets(f"host={postgres.host}", f"port={postgres.port}", f"database={database}",
               f"user={postgres.user}", "sslmode=disable"),
    )  # fmt: skip
    monkeypatch.delenv("COFRE_SECRET_PASSWORD")
    monkeypatch.setenv("COFRE_WAREHOUSE_BLOCK", "pg-wh")
    monkeypatch.setenv("PGPASSWORD", f"PW-{MARKER}")  # the worker's own password, too
    error = _attempt(lambda: _connect_with_parameter(_fake_url(fake_pg)))
    assert fake_pg.connections == 0 and not fake_pg.saw(MARKER)
    _assert_refused(error, "warehouse_url", "cofre-postgres-credentials/pg-wh")
    [incident] = _incidents("cofre-postgres-credentials/pg-wh")
    assert incident["details"]["check"] == "redirect"
    assert _reads("cofre-postgres-credentials/pg-wh") == []  # refused before decrypting
    # The block's own host, port and database, repeated as a URL, use the block's password.
    monkeypatch.delenv("PGPASSWORD")
    same = f"postgresql://someone@{postgres.host}:{postgres.port}/{database}"
    assert "block cofre-postgres-credentials/pg-wh" in _connect_with_parameter(same).description


def test_a_config_sealed_warehouse_url_wins_over_a_parameter(api, postgres, fake_pg, monkeypatch):
    monkeypatch.setenv("PGPASSWORD", f"PW-{MARKER}")
    _config("team", f"warehouse_url=postgresql://cofre@127.0.0.1:{postgres.port}/cofre")
    monkeypatch.setenv("COFRE_CONFIG_BLOCK", "team")
    error = _attempt(lambda: _connect_with_parameter(_fake_url(fake_pg)))
    assert fake_pg.connections == 0 and not fake_pg.saw(MARKER)
    _assert_refused(error, "warehouse_url", "cofre-config/team")
    assert _incidents("cofre-config/team")


@pytest.mark.parametrize("sealed_by", ["block", "config"])
def test_libpq_variables_cannot_reroute_a_sealed_warehouse(api, fake_pg, monkeypatch, sealed_by):
    """PGHOSTADDR makes libpq connect to that address whatever host it is given."""
    sealed_host = "db.sealed.invalid"  # never resolves: only PGHOSTADDR could reach the fake
    if sealed_by == "block":
        monkeypatch.setenv("COFRE_SECRET_PASSWORD", f"PW-{MARKER}")
        cofre_ok("secrets", "set", "postgres", "pg-wh",
               *_sets(f"host={sealed_host}", f"port={fake_pg.port}"))  # fmt: skip
        monkeypatch.setenv("COFRE_WAREHOUSE_BLOCK", "pg-wh")
        target = "cofre-postgres-credentials/pg-wh"
    else:
        monkeypatch.setenv("PGPASSWORD", f"PW-{MARKER}")
        _config("team", f"warehouse_url=postgresql://cofre@{sealed_host}:{fake_pg.port}/cofre")
        monkeypatch.setenv("COFRE_CONFIG_BLOCK", "team")
        target = "cofre-config/team"
    monkeypatch.setenv("PGHOSTADDR", "127.0.0.1")  # e.g. a run's job_variables.env
    error = _attempt(lambda: connect_warehouse(load_settings()))
    assert fake_pg.connections == 0 and not fake_pg.saw(MARKER)
    _assert_refused(error, "PGHOSTADDR", target)
    assert _incidents(target)
    assert _reads("cofre-postgres-credentials/pg-wh") == []


def test_the_warehouse_cli_refuses_before_probing_the_port(fake_pg, cofre_home):
    env = {"COFRE_HOME": str(cofre_home), "PGPASSWORD": f"PW-{MARKER}"}
    result = _cli("flows.warehouse", "--warehouse", _fake_url(fake_pg), env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    stops = [line for line in result.stderr.splitlines() if line.startswith("Cofre stopped:")]
    assert len(stops) == 1 and "PGPASSWORD" in stops[0] and "--warehouse" in stops[0], stops
    assert MARKER not in result.stderr + result.stdout
    assert fake_pg.connections == 0
    assert _incidents("warehouse-password/PGPASSWORD")
