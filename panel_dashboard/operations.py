"""The operations tab's facts: recent runs, quality gates, quarantine, audit trail, lake size,
and the lineage of the loaded data (read from the warehouse: `dw.cofre_lineage`).

Recent runs come from the Prefect API when one is configured and answers within a couple of
seconds; otherwise from the run summaries the full pipeline writes to
`gold/_runs/<run_id>.json`. The dashboard never starts Prefect's temporary server: without a
configured `PREFECT_API_URL` it does not call Prefect at all.

Each part is gathered on its own: a lake that cannot be listed or an audit trail without its
keyring shows as that part's error, and the rest of the tab still renders.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from blocks.lake import Lake
from blocks.settings import CofreSettings
from tasks.run_summary import StageResult, read_run_summaries
from tasks.warehouse.lineage import read_loaded_lineage
from validation.catalog import LAYERS, RUNS_PREFIX, Layer

PREFECT_TIMEOUT_SECONDS = 2.0


@dataclass
class RunsView:
    source: str  # "prefect" | "lake" | "none"
    rows: list[dict[str, Any]]  # name, flow, state, started, finished, seconds
    note: str = ""


@dataclass
class OperationsSnapshot:
    runs: RunsView
    quality_run: str | None  # the run whose gate results `quality` holds
    quality: list[dict[str, Any]]  # dataset, rows_in, rows_out, quarantined, failures
    quarantine: list[dict[str, Any]]  # dataset, objects, rows, latest_run_rows
    audit: dict[str, Any]  # ok, records, reason, first_bad_seq
    layers: list[dict[str, Any]]  # layer, objects, bytes
    errors: dict[str, str] = field(default_factory=dict)  # part -> what went wrong
    lineage: dict[str, Any] | None = None  # tasks/warehouse/lineage.py's record of the loaded data
    stage_times: list[dict[str, Any]] = field(default_factory=list)  # see `stage_durations`
    inputs: list[dict[str, Any]] = field(default_factory=list)  # see `run_inputs`


# -- runs -----------------------------------------------------------------------------------
def prefect_api_url() -> str | None:
    """The configured Prefect API (environment, then the active profile), or None."""
    url = os.environ.get("PREFECT_API_URL")
    if url:
        return url
    try:
        from prefect.settings import get_current_settings

        return get_current_settings().api.url
    except Exception:  # a broken profile means "not configured" here
        return None


def prefect_runs(limit: int = 10, timeout: float = PREFECT_TIMEOUT_SECONDS) -> RunsView | None:
    """The latest flow runs from the Prefect API, or None when none is configured/reachable."""
    url = prefect_api_url()
    if not url:
        return None
    import httpx

    try:
        httpx.get(f"{url.rstrip('/')}/health", timeout=timeout).raise_for_status()
    except httpx.HTTPError:
        return None
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterId
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(httpx_settings={"timeout": timeout * 5}, sync_client=True) as client:
        runs = client.read_flow_runs(sort=FlowRunSort.START_TIME_DESC, limit=limit)
        ids = list({run.flow_id for run in runs})
        flows = client.read_flows(flow_filter=FlowFilter(id=FlowFilterId(any_=ids))) if ids else []
    names = {flow.id: flow.name for flow in flows}
    rows = [
        {
            "name": run.name,
            "flow": names.get(run.flow_id, ""),
            "state": run.state_name or (run.state.name if run.state else ""),
            "started": _utc(run.start_time),
            "finished": _utc(run.end_time),
            "seconds": run.total_run_time.total_seconds() if run.total_run_time else None,
        }
        for run in runs
    ]
    return RunsView("prefect", rows, f"Prefect API {url}")


def _utc(value: datetime | None) -> datetime | None:
    """Aware times in UTC (the tab says so); naive ones are taken as UTC already."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC)


def _parse_time(value: Any) -> datetime | None:
    try:
        return _utc(datetime.fromisoformat(str(value))) if value else None
    except ValueError:
        return None


def lake_runs(summaries: list[dict[str, Any]]) -> RunsView:
    rows = []
    for summary in summaries:
        started, finished = (
            _parse_time(summary.get("started_at")),
            _parse_time(summary.get("finished_at")),
        )
        stages = [StageResult.from_dict(stage) for stage in summary.get("stages") or []]
        rows.append(
            {
                "name": summary.get("flow_run_name") or summary.get("run_id", ""),
                "flow": "full-pipeline",
                "state": summary.get("state", ""),
                "started": started,
                "finished": finished,
                "seconds": (finished - started).total_seconds() if started and finished else None,
                "stages": [(s.stage, s.status) for s in stages],  # the view words the status
            }
        )
    source = "lake" if rows else "none"
    return RunsView(source, rows, f"{Layer.GOLD}/{RUNS_PREFIX}/")


def stage_durations(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per run (newest first): name, started, state, stages [(stage, status, seconds)], from
    the lake's summaries (the Prefect API has no per-stage times)."""
    return [
        {
            "name": summary.get("flow_run_name") or summary.get("run_id", ""),
            "started": _parse_time(summary.get("started_at")),
            "state": summary.get("state", ""),
            "stages": [
                (s.stage, s.status, float(s.seconds or 0.0))
                for s in (StageResult.from_dict(row) for row in summary.get("stages") or [])
            ],
        }
        for summary in summaries
    ]


# -- quality, quarantine, audit, layers -------------------------------------------------------
def run_inputs(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per pipeline run with a recorded provenance (tasks/provenance.py), newest first: its
    name, who asked, the Olist source, whether its parameters were the deployment's, and
    each external source's mode."""
    found = []
    for summary in summaries:
        provenance = summary.get("provenance")
        if not isinstance(provenance, dict):
            continue
        found.append(
            {
                "name": summary.get("flow_run_name") or summary.get("run_id", ""),
                "requested_by": provenance.get("requested_by", ""),
                "olist": provenance.get("olist"),  # a dir or a seed and size; the view words it
                "declared": bool(provenance.get("declared", True)),
                "undeclared": list(provenance.get("undeclared") or []),
                "sources": dict(provenance.get("sources") or {}),
            }
        )
    return found


def quality_results(summaries: list[dict[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    """The gate results of the newest run that has any: one row per dataset."""
    for summary in summaries:
        quality = summary.get("quality") or {}
        if quality:
            rows = [
                {
                    "dataset": name,
                    "rows_in": result.get("rows_in"),
                    "rows_out": result.get("rows_out"),
                    "quarantined": result.get("quarantined", 0),
                    "failures": result.get("failures") or {},
                }
                for name, result in sorted(quality.items())
            ]
            return summary.get("run_id"), rows
    return None, []


def _parquet_rows(lake: Lake, key: str) -> int | None:
    import pyarrow.parquet as pq

    try:
        with lake.fs.open(lake.path(Layer.QUARANTINE, key), "rb") as handle:
            return pq.ParquetFile(handle).metadata.num_rows
    except Exception:  # not Parquet, or unreadable: count the object, not its rows
        return None


def quarantine_counts(lake: Lake, latest_run: str | None) -> list[dict[str, Any]]:
    """Per dataset: quarantine objects, their rows, and the rows of `latest_run`."""
    datasets: dict[str, dict[str, Any]] = {}
    for key in lake.keys(Layer.QUARANTINE):
        if not key.endswith(".parquet"):
            continue
        dataset = key.split("/", 1)[0]
        entry = datasets.setdefault(
            dataset, {"dataset": dataset, "objects": 0, "rows": 0, "latest_run_rows": 0}
        )
        rows = _parquet_rows(lake, key) or 0
        entry["objects"] += 1
        entry["rows"] += rows
        if latest_run and f"/run_id={latest_run}/" in f"/{key}":
            entry["latest_run_rows"] += rows
    return [datasets[name] for name in sorted(datasets)]


def audit_status(settings: CofreSettings) -> dict[str, Any]:
    """Whether the audit trail's hash chain verifies (never raises)."""
    from blocks import audit

    try:
        report = audit.verify(settings)
    except Exception as exc:  # e.g. KeyringError: records exist but no key to check them
        return {"ok": False, "records": None, "reason": f"{type(exc).__name__}: {exc}"[:300]}
    return {
        "ok": report.ok,
        "records": report.records,
        "reason": report.reason,
        "first_bad_seq": report.first_bad_seq,
    }


def layer_sizes(lake: Lake) -> list[dict[str, Any]]:
    return [
        {"layer": layer, "objects": len(lake.keys(layer)), "bytes": lake.layer_size(layer)}
        for layer in LAYERS
    ]


# -- everything -------------------------------------------------------------------------------
def _attempt(errors: dict[str, str], part: str, work: Callable[[], Any], fallback: Any) -> Any:
    try:
        return work()
    except Exception as exc:  # one part failing must not hide the others
        errors[part] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
        return fallback


def operations_snapshot(
    settings: CofreSettings, lake: Lake | None = None, engine: Engine | None = None
) -> OperationsSnapshot:
    """Everything the operations tab shows, gathered now (the lineage from `engine`'s
    warehouse: the one the sales tab reads)."""
    errors: dict[str, str] = {}
    lake = lake or _attempt(errors, "lake", lambda: Lake.from_settings(settings), None)
    summaries = _attempt(errors, "runs", lambda: read_run_summaries(lake), []) if lake else []
    runs = _attempt(errors, "prefect", prefect_runs, None) or lake_runs(summaries)
    quality_run, quality = quality_results(summaries)
    quarantine = (
        _attempt(errors, "quarantine", lambda: quarantine_counts(lake, quality_run), [])
        if lake
        else []
    )
    layers = _attempt(errors, "layers", lambda: layer_sizes(lake), []) if lake else []
    return OperationsSnapshot(
        runs=runs,
        quality_run=quality_run,
        quality=quality,
        quarantine=quarantine,
        audit=audit_status(settings),
        layers=layers,
        errors=errors,
        lineage=_attempt(errors, "lineage", lambda: read_loaded_lineage(engine), None)
        if engine is not None
        else None,
        stage_times=stage_durations(summaries),
        inputs=run_inputs(summaries),
    )
