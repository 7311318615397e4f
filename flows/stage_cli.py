"""`python -m flows.<stage>`: flags, settings, paths and URLs checked before Prefect loads.

Importing Prefect, polars, pandera (which imports pyspark.pandas) and the flows costs 5-15 s
on a 2-core machine; a mistyped flag, a bad `COFRE_*` variable, a missing Olist file or a
PostgreSQL that is down should cost about a second (docs/performance.md). So each flow module
starts with

    if __name__ == "__main__":
        from flows.stage_cli import run_stage_cli

        run_stage_cli("gold", __doc__)

which parses the stage's flags here (standard library, pydantic-settings), runs
`flows/preflight.py`'s checks and the audit key's, and only then imports `flows.<stage>` (under
its own name, not `__main__`), runs its flow once and exits: 0, 1 with one `Cofre stopped:`
line, or 130 with one `Cofre interrupted (Ctrl-C) during <stage>; ...` line.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any, NoReturn

from blocks.env_settings import unknown_setting_warnings
from blocks.errors import RunInterrupted
from blocks.runtime.ctrl_c import catch_ctrl_c, raise_if_ctrl_c
from flows.cli_exit import request_debug, stop_on_cofre_error
from flows.options import OPTION_NAMES, PipelineOptions, add_arguments

# The ingestion's sources (flows/ingestion.py lands olist itself, the rest are its
# EXTERNAL_TASKS); named here so `--only` is parsed without importing the tasks.
INGESTION_SOURCES = ("olist", "ipca", "openweather", "open_meteo")


def _source_list(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    if unknown := [name for name in names if name not in INGESTION_SOURCES]:
        raise argparse.ArgumentTypeError(
            f"unknown source(s) {', '.join(unknown)}; choose from {', '.join(INGESTION_SOURCES)}"
        )
    return names


def _ingestion_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--only",
        type=_source_list,
        help=f"comma-separated subset of: {', '.join(INGESTION_SOURCES)} (default: all)",
    )


def _lifecycle_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, default=30, help="age threshold (default 30)")
    parser.add_argument("--dry-run", action="store_true", help="list what would move")
    parser.add_argument(
        "--install-s3-rules",
        action="store_true",
        help="also install a native S3 lifecycle rule on the bronze bucket",
    )


# A stage's own flags (beyond flows/options.py's), passed to its flow under their `dest`.
STAGE_FLAGS: dict[str, Callable[[argparse.ArgumentParser], None]] = {
    "ingestion": _ingestion_flags,
    "lifecycle": _lifecycle_flags,
}


def stage_parser(stage: str, description: str | None) -> argparse.ArgumentParser:
    """The stage's flags; no abbreviations (`--synthetic-order` is a typo, not a flag)."""
    parser = argparse.ArgumentParser(
        prog=f"python -m flows.{stage}",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    add_arguments(parser, stage)
    if stage in STAGE_FLAGS:
        STAGE_FLAGS[stage](parser)
    parser.add_argument(
        "--debug", action="store_true", help="on failure, show the full traceback (COFRE_DEBUG=1)"
    )
    return parser


def run_stage_cli(stage: str, description: str | None, argv: list[str] | None = None) -> NoReturn:
    """Parse and check `stage`'s command line, then run its flow once and exit (see above)."""
    catch_ctrl_c()  # a Ctrl-C is remembered, even where native code swallows its raise
    # No collection while the modules load: nearly all of their ~250,000 objects live as long
    # as the process, and the collector's passes over them took a fifth of the imports
    # (1.33 -> 1.10 s). `import_stage` freezes what the imports built and turns the collector
    # back on; so does any way out of here.
    gc.disable()
    try:
        _run_stage_cli(stage, description, argv)
    finally:
        gc.enable()


def _run_stage_cli(stage: str, description: str | None, argv: list[str] | None) -> NoReturn:
    args = stage_parser(stage, description).parse_args(argv)
    if args.debug:
        request_debug()
    for warning in unknown_setting_warnings():
        print(warning, file=sys.stderr)
    options = PipelineOptions.from_args(args)
    extras = {n: v for n, v in vars(args).items() if n not in OPTION_NAMES and n != "debug"}
    with stop_on_cofre_error():
        try:
            settings = check_command_line(args, options, stage)
        except KeyboardInterrupt:
            raise RunInterrupted("start-up") from None
        check_olist_ahead(stage, options, extras, settings)
        _run_flow(stage, options, extras)
    raise SystemExit(0)


def check_command_line(args: argparse.Namespace, options: PipelineOptions, stage: str) -> Any:
    """What every `python -m flows.*` checks before a flow run exists: no secret in its
    arguments (Prefect would store it as a parameter), the umask (before Prefect or Cofre
    creates a file), the settings, paths and URLs (flows/preflight.py) and the audit key
    against the trail (a wrong key costs a second, and writes nothing). Returns the settings
    checked."""
    from blocks.audit.incident import check_trail_before_run
    from blocks.lake.home_lock import apply_umask
    from blocks.runtime.parameter_guard import refuse_secret_parameters
    from flows.preflight import check_before_start

    refuse_secret_parameters(vars(args))
    apply_umask()
    settings = check_before_start(options, stage)
    check_trail_before_run(settings)
    return settings


def check_olist_ahead(
    stage: str, options: PipelineOptions, extras: dict[str, Any], settings: Any
) -> None:
    """Start the ingestion's check of a real Olist directory in a child process, to run while
    the flow's modules load (tasks/sources/olist/precheck.py; 10x: 0.8 s off the ingestion).
    Only where the preflight checked that directory (not synthetic, not a `--resume`, olist
    among `--only`'s sources), so it reads nothing the run would not."""
    from flows.preflight import olist_dir_read

    if options.resume or "olist" not in (extras.get("only") or ["olist"]):
        return
    directory = olist_dir_read(options, stage, settings)
    if directory is not None:
        from tasks.sources.olist.precheck import start_precheck

        start_precheck(directory)


def import_stage(stage: str) -> ModuleType:
    """Import `flows.<stage>`, put everything the imports built out of the collector's reach
    (`gc.freeze`) and turn the collector back on (`run_stage_cli` turned it off). Those
    objects live as long as the process; frozen, they are out of the collector's full passes
    (each walked ~280,000 objects; 10x: 9 passes, 0.9 s on the main thread). The cyclic
    garbage the imports left (about 11,000 objects, 3 MiB) is frozen with them: collecting it
    first would cost 0.13 s of every run."""
    module = importlib.import_module(f"flows.{stage}")
    gc.freeze()
    gc.enable()
    return module


def _run_flow(stage: str, options: PipelineOptions, extras: dict[str, Any]) -> None:
    """Import the stage's module (Prefect, polars, the JVM's bindings: from here on the
    seconds are the run's), let it prepare the process (`before_run`), run its flow."""
    try:
        module = import_stage(stage)
    except KeyboardInterrupt:
        raise RunInterrupted("start-up") from None
    from blocks.runtime.heartbeat import engine_heartbeat_replaced
    from blocks.runtime.prefect_noise import quiet_task_completions
    from flows.cli_exit import debug_requested, quiet_tracebacks_on_console
    from tasks.console import live_progress

    quiet_task_completions()  # Prefect's console handler exists now
    if not debug_requested():
        quiet_tracebacks_on_console()
    before_run = getattr(module, "before_run", None)
    try:
        with live_progress(stage.replace("_", " ")):  # on a terminal only
            if before_run is not None:
                before_run(options)
            with engine_heartbeat_replaced():  # ours stops at once (blocks/runtime/heartbeat.py)
                getattr(module, stage)(**options.for_stage(stage), **extras)
            raise_if_ctrl_c()
    except RunInterrupted:
        raise
    except KeyboardInterrupt:  # in Prefect's engine, outside the flow's own body
        raise RunInterrupted(
            stage, "see the run's state in the Prefect UI before running it again"
        ) from None
