"""The pipeline's parameters, declared once: name, type, CLI flag, help and setting.

Each flow keeps its Prefect parameters flat and written out in its signature, because
`prefect deploy` reads a flow's parameter schema from its source (the function's text, not
the imported object) and the UI and `prefect.yaml` pass parameters by name; a test checks
every signature against this model. From here come the `python -m flows.<stage>` CLIs
(`add_arguments`), a flow's settings (`PipelineOptions.settings`) and what the full pipeline
passes each stage (`for_stage`). Precedence stays: flag > COFRE_* env > block > default.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any, get_args

from blocks.env_settings import SourceMode
from blocks.settings import CofreSettings, load_settings

OLIST_SOURCE = "olist source"  # --olist-dir and --synthetic-orders exclude each other


def _cli(*flags: str, help: str, setting: str | None, group: str | None = None, **cli: Any) -> dict:
    """An option's CLI flags, help, `CofreSettings` field (None: not a setting) and argparse
    extras (as metadata). Every option defaults to None: not given, so env, block or default
    decide."""
    return {"flags": flags, "help": help, "setting": setting, "group": group, "cli": cli}


@dataclass(frozen=True)
class PipelineOptions:
    olist_dir: str | None = field(
        default=None,
        metadata=_cli(
            "--olist-dir",
            help="directory with the 9 real Olist CSVs",
            setting="olist_dir",
            group=OLIST_SOURCE,
            type=Path,
        ),
    )
    synthetic_orders: int | None = field(
        default=None,
        metadata=_cli(
            "--synthetic-orders",
            help="generate a synthetic Olist set of N orders",
            setting="synthetic_orders",
            group=OLIST_SOURCE,
            type=int,
        ),
    )
    seed: int | None = field(
        default=None,
        metadata=_cli(
            "--seed", help="seed of the synthetic set (default 42)", setting="seed", type=int
        ),
    )
    lake: str | None = field(
        default=None,
        metadata=_cli(
            "--lake", help="lake URL: a directory or s3://bucket[/prefix]", setting="lake_url"
        ),
    )
    sources: str | None = field(
        default=None,
        metadata=_cli(
            "--sources",
            help="external APIs: live, bundled snapshots, or auto (live, snapshot when offline)",
            setting="sources",
            choices=get_args(SourceMode),
        ),
    )
    weather_start: date | None = field(
        default=None,
        metadata=_cli(
            "--weather-start",
            help="Open-Meteo history start, YYYY-MM-DD",
            setting="weather_start",
            type=date.fromisoformat,
        ),
    )
    weather_end: date | None = field(
        default=None,
        metadata=_cli(
            "--weather-end",
            help="Open-Meteo history end, YYYY-MM-DD",
            setting="weather_end",
            type=date.fromisoformat,
        ),
    )
    masking_policy: str | None = field(
        default=None,
        metadata=_cli(
            "--masking-policy",
            help="PII masking preset (default)",
            setting="masking_policy",
            choices=["default", "seed"],
        ),
    )
    max_quarantine_share: float | None = field(
        default=None,
        metadata=_cli(
            "--max-quarantine-share",
            help="fail a dataset's gate above this share of quarantined rows (default 0.01)",
            setting="max_quarantine_share",
            type=float,
        ),
    )
    engine: str | None = field(
        default=None,
        metadata=_cli(
            "--engine",
            help="gold engine: duckdb (in process), spark, or auto: Spark when a Spark master "
            "is configured, DuckDB otherwise (default: COFRE_GOLD_ENGINE, else auto)",
            setting="gold_engine",
            choices=["auto", "duckdb", "spark"],
        ),
    )
    master: str | None = field(
        default=None,
        metadata=_cli(
            "--master",
            "--spark-master",
            help="Spark master URL for the Spark engine, e.g. spark://host:7077 (default: "
            "COFRE_SPARK_MASTER, else local[*] in this process)",
            setting="spark_master",
        ),
    )
    warehouse_url: str | None = field(
        default=None,
        metadata=_cli(
            "--warehouse",
            help="warehouse URL without a password (default: COFRE_WAREHOUSE_URL, "
            "COFRE_WAREHOUSE_BLOCK, else $COFRE_HOME/warehouse.db)",
            setting="warehouse_url",
        ),
    )
    resume: str | None = field(
        default=None,
        metadata=_cli(
            "--resume",
            help="resume failed run RUN_ID from the stage that failed, with its options; the "
            "stages it finished are kept, not run again (docs/operations.md)",
            setting=None,
            metavar="RUN_ID",
        ),
    )

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> PipelineOptions:
        """The options a parsed command line gave (paths as strings, as Prefect stores them)."""
        given = {f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)}
        return cls(**{n: str(v) if isinstance(v, Path) else v for n, v in given.items()})

    def for_stage(self, stage: str) -> dict[str, Any]:
        """The keyword arguments of one stage's flow (see `STAGE_OPTIONS`)."""
        return {name: getattr(self, name) for name in STAGE_OPTIONS[stage]}

    def settings(self) -> CofreSettings:
        """Settings with every given option as its flag (None: not given)."""
        flags = {f.metadata["setting"]: getattr(self, f.name) for f in fields(self)}
        return load_settings(**{name: value for name, value in flags.items() if name})

    def given(self) -> dict[str, Any]:
        """The options given, by name (dates and paths as they are), `resume` aside."""
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name != "resume" and getattr(self, f.name) is not None
        }

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> PipelineOptions:
        """The options a run summary recorded (`given`, as JSON), typed again."""
        values = {}
        for option in fields(cls):
            value = stored.get(option.name)
            convert = option.metadata["cli"].get("type")
            if value is not None and convert is not None and convert is not Path:
                value = convert(value) if isinstance(value, str) else value
            values[option.name] = value
        return cls(**{**values, "resume": None})


OPTION_NAMES = tuple(f.name for f in fields(PipelineOptions))
# Which options each flow takes, in its signature's order.
STAGE_OPTIONS: dict[str, tuple[str, ...]] = {
    "ingestion": (
        "olist_dir",
        "synthetic_orders",
        "seed",
        "lake",
        "sources",
        "weather_start",
        "weather_end",
    ),
    "silver": ("lake", "masking_policy", "max_quarantine_share"),
    "gold": ("lake", "engine", "master"),
    "warehouse": ("lake", "warehouse_url"),
    "lifecycle": ("lake",),
    "full_pipeline": OPTION_NAMES,
}


def add_arguments(parser: argparse.ArgumentParser, stage: str) -> None:
    """The CLI flags of one flow's options, in declaration order."""
    groups: dict[str, Any] = {}
    for option in fields(PipelineOptions):
        if option.name not in STAGE_OPTIONS[stage]:
            continue
        meta = option.metadata
        target: Any = parser
        if meta["group"]:
            if meta["group"] not in groups:
                groups[meta["group"]] = parser.add_mutually_exclusive_group()
            target = groups[meta["group"]]
        target.add_argument(*meta["flags"], dest=option.name, help=meta["help"], **meta["cli"])
