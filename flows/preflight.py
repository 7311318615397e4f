"""What every `python -m flows.*` checks before Prefect's API or Spark's JVM starts.

A mistake in a flag, a `COFRE_*` variable or `./.env` should cost a second, not the 10-20 s
of a temporary Prefect API, a JVM and a lake lock, and should end in one `Cofre stopped:`
line naming the flag or variable. Checked here, in order:

- `--resume RUN_ID`: the id's form; on a local lake the whole resume (tasks/resume.py), whose
  run's own options are then the ones checked below;
- the settings themselves (a malformed `COFRE_*` is named by `EnvOnlySettings`);
- the Prefect API, when one is configured (`PREFECT_API_URL`): it answers `/health`;
- the lake: an S3 URL names a bucket and credentials can be found (a block name, or the AWS
  chain: env, profile, instance role); a local lake's directory can be created;
- the Olist directory, when one is given: it holds the 9 CSVs, none empty, with every column;
- the warehouse URL: a supported dialect, no password in it, a password libpq finds by itself
  (PGPASSWORD, ~/.pgpass) stays with its host (before any probe), PostgreSQL's port answers;
- the Spark master, when it is a `spark://` URL: its port answers;
- the credentials blocks named (`COFRE_S3_CREDENTIALS_BLOCK`, `COFRE_WAREHOUSE_BLOCK`) exist,
  and no setting asks to send their credentials elsewhere than their sealed endpoint or host.
  Only this last check needs Prefect: it runs when a block is named, after the checks above.

Values that come from a saved `CofreConfig` block (`COFRE_CONFIG_BLOCK`) are checked the
same way; reading that block is the one reason the settings themselves need Prefect here.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

from blocks.errors import ConfigurationError, SecretNotFound
from blocks.lake.home_lock import uses_s3
from blocks.runtime.parameter_guard import refuse_password_in_url
from blocks.runtime.prefect_home import configured_api_url
from blocks.secrets.input_authority import refuse_unsealed_inputs
from blocks.secrets.sealed_authority import authorised_s3_endpoint
from blocks.settings import CofreSettings
from flows.options import PipelineOptions

CONNECT_TIMEOUT_SECONDS = 3.0
WAREHOUSE_DIALECTS = ("sqlite", "postgresql", "postgres")


def check_before_start(options: PipelineOptions, stage: str) -> CofreSettings:
    """Run every check that applies to `stage`'s options; return the settings checked.
    Raises a `CofreError` naming the flag or variable to fix."""
    if options.resume:
        options = check_resume(options)
    settings = options.settings()  # a malformed COFRE_* variable is named here
    check_prefect_api()
    # The sealed lake and Olist roots, before any input is read (blocks/secrets/input_authority.py).
    olist_dir = olist_dir_read(options, stage, settings)
    refuse_unsealed_inputs(settings, reads_olist=olist_dir is not None)
    if stage in ("ingestion", "silver", "gold", "warehouse", "lifecycle", "full_pipeline"):
        check_lake(settings)
    if olist_dir is not None:
        check_olist_files(Path(olist_dir))
    if stage in ("warehouse", "full_pipeline"):
        check_warehouse_url(settings)
    if stage in ("gold", "full_pipeline"):
        check_spark_master(settings.spark_master)
    check_named_blocks(settings, stage)
    return settings


def olist_dir_read(options: PipelineOptions, stage: str, settings: CofreSettings) -> Path | None:
    """The real Olist directory `stage` reads with these options; None for a synthetic set or
    a stage that reads no Olist input."""
    if stage in ("ingestion", "full_pipeline") and not options.synthetic_orders:
        return settings.olist_dir or None
    return None


def check_resume(options: PipelineOptions) -> PipelineOptions:
    """The options a `--resume` runs with. The run id's form is checked here; on a local lake
    the whole resume too (the flow checks it again under the home's lock); an S3 lake's is
    checked by the flow, once it may read the lake's credentials."""
    from tasks.resume import check_run_id

    check_run_id(options.resume or "")
    if uses_s3(options.settings()):
        return options
    from flows.resume import resumed_options

    return resumed_options(options)[1]


def check_prefect_api() -> None:
    """A configured Prefect API must answer, or every later step fails with a long trace."""
    url = (configured_api_url() or "").rstrip("/")  # read without importing Prefect
    if not url:
        return
    import httpx

    try:
        answer = httpx.get(f"{url}/health", timeout=CONNECT_TIMEOUT_SECONDS * 2)
        problem = None if answer.status_code == 200 else f"HTTP {answer.status_code}"
    except httpx.HTTPError as exc:
        problem = _short(exc) or type(exc).__name__
    if problem:
        raise ConfigurationError(
            f"The Prefect API at {url} is unreachable ({problem}). Start it (`prefect server "
            "start`), fix PREFECT_API_URL, or unset it to let Cofre run its own temporary API "
            "under $COFRE_HOME/prefect."
        )


def check_lake(settings: CofreSettings) -> None:
    """The lake URL's form, and what the lake needs before anything is written to it."""
    url = settings.resolved_lake_url
    if uses_s3(settings):
        if not settings.lake_buckets and not url.removeprefix("s3://").strip("/"):
            raise ConfigurationError(
                f"Lake URL {url!r} names no bucket: use --lake s3://bucket[/prefix] "
                "(or COFRE_LAKE_URL)."
            )
        _check_s3_credentials(settings, url)
        return
    if "://" in url and not url.startswith("file://"):
        raise ConfigurationError(
            f"Lake URL {url!r} is neither a directory nor s3://bucket[/prefix]: fix --lake "
            "(or COFRE_LAKE_URL)."
        )
    check_creatable(Path(url.removeprefix("file://")).expanduser(), "lake directory")


def _check_s3_credentials(settings: CofreSettings, url: str) -> None:
    if settings.s3_credentials_block:
        return  # its existence is checked with the other blocks
    import botocore.session

    if botocore.session.get_session().get_credentials() is None:
        raise ConfigurationError(
            f"The S3 lake {url} needs credentials and none were found. Save them with "
            "`cofre secrets set s3 NAME` and set COFRE_S3_CREDENTIALS_BLOCK=NAME, or provide "
            "AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or an AWS profile)."
        )


def check_creatable(path: Path, what: str) -> None:
    """`path` exists as a writable directory, or its nearest existing parent is one."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        reason = "is not a directory" if not existing.is_dir() else "is not writable"
        raise ConfigurationError(
            f"The {what} {path} cannot be created: {existing} {reason}. Choose another path."
        )


def check_olist_files(directory: Path) -> None:
    """The 9 Olist CSVs are there with their columns (the ingestion checks every byte)."""
    from tasks.sources.olist.layout import check_olist_layout

    check_olist_layout(directory)


def check_warehouse_url(settings: CofreSettings) -> None:
    """A warehouse URL from a flag or `COFRE_WAREHOUSE_URL`: its form, that it may be used
    with the password libpq would send (tasks/warehouse/authority.py, audited when refused)
    and, for PostgreSQL without a block, that its port answers."""
    url = settings.warehouse_url
    if not url:
        return
    refuse_password_in_url(url, "warehouse URL")
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from tasks.warehouse.authority import warehouse_target

    try:
        parsed = make_url(url)
    except ArgumentError:
        parsed = None
    dialect = parsed.get_backend_name() if parsed else ""
    if dialect not in WAREHOUSE_DIALECTS:
        raise ConfigurationError(
            f"Warehouse URL {url!r} is not a sqlite:/// or postgresql:// URL: fix --warehouse "
            "(or COFRE_WAREHOUSE_URL)."
        )
    if not settings.warehouse_block:  # a block is checked with the blocks, below
        warehouse_target(settings)  # before probing: a password libpq finds stays with its host
    if dialect == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            check_creatable(Path(parsed.database).expanduser().parent, "warehouse directory")
        return
    if settings.warehouse_block:
        return  # the block's host and port are the ones used; the load reports them
    host, port = parsed.host or "localhost", parsed.port or 5432
    if host.startswith("/"):
        return  # a Unix socket directory: libpq reports it itself
    _require_port(host, port, f"The PostgreSQL warehouse at {host}:{port}", "--warehouse")


def check_spark_master(master: str | None) -> None:
    """A standalone master (`spark://host:port`) must accept connections."""
    if not master or not master.startswith("spark://"):
        return
    for address in master.removeprefix("spark://").split(","):  # HA masters: any one answers
        parts = urlsplit(f"spark://{address}")
        if _port_answers(parts.hostname or "", parts.port or 7077):
            return
    raise ConfigurationError(
        f"The Spark master {master} is unreachable. Start it, or fix --master "
        "(or COFRE_SPARK_MASTER); without one, gold runs on local[*] in this process."
    )


def check_named_blocks(settings: CofreSettings, stage: str) -> None:
    """The credentials blocks the stage will read are saved, and no setting asks to send
    their credentials anywhere but where they are sealed for (blocks/secrets/sealed_authority.py;
    nothing decrypted). This is the one check that needs the Prefect API; it runs only when
    a block is named."""
    loads = stage in ("warehouse", "full_pipeline")
    if not uses_s3(settings) and not (loads and settings.warehouse_block):
        # Nothing to check: and Prefect, which the blocks import, is not imported here, so
        # the Olist check started ahead runs while it is (flows/stage_cli.py).
        return
    from blocks.secrets.credentials import PostgresCredentials, S3Credentials
    from tasks.warehouse.authority import warehouse_target

    wanted = []
    if settings.s3_credentials_block and uses_s3(settings):
        wanted.append((S3Credentials, settings.s3_credentials_block, "COFRE_S3_CREDENTIALS_BLOCK"))
    if loads and settings.warehouse_block:
        wanted.append((PostgresCredentials, settings.warehouse_block, "COFRE_WAREHOUSE_BLOCK"))
    for block_cls, name, variable in wanted:
        if not _block_saved(block_cls.get_block_type_slug(), name):
            raise SecretNotFound(
                f"{variable} names {name!r}, but no {block_cls.get_block_type_name()} block of "
                f"that name is saved. Check the spelling (`cofre secrets list`), or create it "
                f"with `cofre secrets set {block_cls._kind} {name}`."
            )
    if uses_s3(settings):
        s3_block = settings.s3_credentials_block
        authorised_s3_endpoint(settings, S3Credentials.require(s3_block) if s3_block else None)
    if loads and settings.warehouse_block:
        warehouse_target(settings)


def _block_saved(block_type_slug: str, name: str) -> bool:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_block_document_by_name(name, block_type_slug, include_secrets=False)
        except ObjectNotFound:
            return False
    return True


def _require_port(host: str, port: int, what: str, flag: str) -> None:
    if not _port_answers(host, port):
        raise ConfigurationError(
            f"{what} does not accept connections. Start it, or fix {flag} "
            "(or its COFRE_* variable)."
        )


def _port_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_SECONDS):
            return True
    except OSError:
        return False


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else ""
