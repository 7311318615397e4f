"""The run summary: one row per stage, written to the lake and shown in the Prefect UI.

`gold/_runs/<run_id>.json` keeps every run's summary next to the data it produced, so the
dashboard's operations tab can show recent runs even when the Prefect API is not reachable.
Each stage's row is filled from its `StageReport` (tasks/reports.py). No Prefect import: the
dashboard reads the summaries through `read_run_summaries`.
"""

from __future__ import annotations

import json
import resource
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from blocks.lake import Lake
from tasks.provenance import provenance_line
from tasks.reports import StageReport
from validation.catalog import RUNS_PREFIX, Layer

# The `RunSummary` fields a stage report may set through its `run_facts`.
RUN_FACTS = (
    "sources", "quality", "gold_engine", "spark_startup_seconds", "gold_version", "lineage",
    "provenance",
)  # fmt: skip


@dataclass
class StageResult:
    stage: str
    status: str = "completed"  # completed | failed | interrupted | skipped
    rows_in: int = 0
    rows_out: int = 0
    quarantined: int = 0
    seconds: float = 0.0
    peak_rss_mib: float = 0.0  # the process's peak RSS when the stage ended (monotonic)
    note: str = ""
    done_in: str = ""  # skipped on resume: the run that did this stage's work

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> StageResult:
        """A stage row read back from a stored summary (fields it lacks take their default)."""
        names = {f.name for f in fields(cls)}
        known = {name: value for name, value in stored.items() if name in names}
        return cls(**{"stage": "", **known})


@dataclass
class RunSummary:
    run_id: str
    flow_run_name: str = ""
    state: str = "running"
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    finished_at: str | None = None
    stages: list[StageResult] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)
    quality: dict[str, dict] = field(default_factory=dict)
    objects: list[str] = field(default_factory=list)
    gold_engine: str = ""  # the engine the gold stage ran on: duckdb or spark
    spark_startup_seconds: float = 0.0  # part of the gold stage: starting the SparkSession
    # The audit trail's head at the end of the run (blocks.audit.anchor.AuditHead.as_dict()),
    # one of the anchors `cofre audit verify` checks the trail against.
    audit_head: dict | None = None
    gold_version: str | None = None  # the gold version the warehouse loaded
    # Bronze objects -> silver -> gold version -> this load (tasks/warehouse/lineage.py).
    lineage: dict | None = None
    # Where the inputs came from and who asked (tasks/provenance.py: olist, files, sources,
    # requested_by, declared, undeclared); set by the ingestion stage.
    provenance: dict | None = None
    # The pipeline options the run was given (flows/options.py, engine and master resolved),
    # what `--resume` runs it again with; and the run this one resumed (tasks/resume.py).
    options: dict | None = None
    resumed_from: str | None = None

    def stage(self, name: str) -> StageTimer:
        return StageTimer(self, StageResult(name))

    def record(self, result: StageResult, report: StageReport) -> None:
        """A stage's report into its row, the objects it wrote and the facts it adds."""
        result.rows_in, result.rows_out = report.rows_in, report.rows_out
        result.quarantined, result.note = report.quarantined, report.note
        self.objects += report.objects
        for name, value in report.run_facts.items():
            if name not in RUN_FACTS:
                raise ValueError(f"Stage {report.stage!r} reported an unknown run fact {name!r}.")
            setattr(self, name, value)

    def finish(self, state: str) -> None:
        self.state = state
        self.finished_at = datetime.now(UTC).isoformat()

    def key_figures(self) -> dict[str, Any]:
        """The run's figures for its `cofre.run.completed` event (blocks/runtime/events.py): ids,
        states and counts, never data."""
        return {
            "run_id": self.run_id,
            "flow_run_name": self.flow_run_name,
            "state": self.state,
            "gold_version": self.gold_version,
            "stages": self.table_rows(),  # stage, status, rows in/out, quarantined, seconds
            "quarantined": sum(s.quarantined for s in self.stages),
            "fallbacks": [s["source"] for s in self.fallbacks],
            "audit_seq": (self.audit_head or {}).get("seq"),
        }

    @property
    def fallbacks(self) -> list[dict]:
        return [s for s in self.sources if s.get("fell_back")]

    def table_rows(self) -> list[dict]:
        return [
            {
                "stage": s.stage,
                "status": s.status,
                "rows in": s.rows_in,
                "rows out": s.rows_out,
                "quarantined": s.quarantined,
                "seconds": round(s.seconds, 1),
                "note": s.note,
            }
            for s in self.stages
        ]

    def to_markdown(self) -> str:
        lines = [
            f"# Run {self.flow_run_name or self.run_id}: {self.state}",
            "",
            "| stage | status | rows in | rows out | quarantined | seconds | note |",
            "|---|---|---:|---:|---:|---:|---|",
        ]
        for s in self.stages:
            lines.append(
                f"| {s.stage} | {s.status} | {s.rows_in:,} | {s.rows_out:,} | {s.quarantined:,}"
                f" | {s.seconds:.1f} | {s.note} |"
            )
        if self.gold_engine == "spark":
            lines += ["", f"Gold on Spark; session start-up {self.spark_startup_seconds:.1f} s."]
        elif self.gold_engine:
            lines += ["", f"Gold on {self.gold_engine}, in process."]
        if self.resumed_from:
            lines += ["", f"Resumes run {self.resumed_from}: its finished stages were kept."]
        if self.provenance:
            lines += ["", provenance_line(self.provenance)]
        if self.fallbacks:
            lines += ["", "**Sources served from bundled snapshots (not live):**"]
            lines += [
                f"- {s['source']}: {s.get('reason') or 'network unreachable'}"
                for s in self.fallbacks
            ]
        return "\n".join(lines)


class StageTimer:
    """`with summary.stage("silver") as stage: stage.record(report)` times a stage, records
    its report, or its failure."""

    def __init__(self, summary: RunSummary, result: StageResult) -> None:
        self.summary, self.result = summary, result

    def __enter__(self) -> StageTimer:
        self._started = time.perf_counter()
        self.summary.stages.append(self.result)
        return self

    def record(self, report: StageReport) -> None:
        self.summary.record(self.result, report)

    def __exit__(self, exc_type, exc, tb) -> None:
        self.result.seconds = time.perf_counter() - self._started
        self.result.peak_rss_mib = round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        )
        if exc is not None:
            self.result.status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            self.result.note = stage_note(exc)


def stage_note(exc: BaseException) -> str:
    """A failed stage's one-line note: the exception's type and first line (Ctrl-C, whose
    message is empty, says so)."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    message = str(exc).strip()
    return f"{type(exc).__name__}: {message.splitlines()[0][:300] if message else '(no message)'}"


def write_run_summary(lake: Lake, summary: RunSummary) -> str:
    key = f"{RUNS_PREFIX}/{summary.run_id}.json"
    lake.write_bytes(Layer.GOLD, key, json.dumps(asdict(summary), indent=2, default=str).encode())
    return lake.url(Layer.GOLD, key)


def read_run_summaries(lake: Lake, limit: int = 10) -> list[dict[str, Any]]:
    """The newest run summaries in `gold/_runs/`, newest first (unreadable files skipped)."""
    summaries = []
    for key in lake.keys(Layer.GOLD, RUNS_PREFIX):
        if not key.endswith(".json"):
            continue
        try:
            summary = json.loads(lake.read_bytes(Layer.GOLD, key))
        except (ValueError, OSError):
            continue
        if isinstance(summary, dict):
            summaries.append(summary)
    summaries.sort(key=lambda s: str(s.get("started_at") or ""), reverse=True)
    return summaries[:limit]
