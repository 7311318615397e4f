"""The silver stage as one unit: build, gate, mask, then write silver and quarantine, audited."""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import polars as pl

from blocks import audit
from blocks.errors import QualityGateFailed
from blocks.lake import Lake
from blocks.runtime import events
from blocks.settings import CofreSettings
from tasks.memory import release_freed_memory
from tasks.reports import StageReport
from tasks.runlog import run_logger
from tasks.silver.external import BUILDERS, build_source_silver
from tasks.silver.masking import MaskingPolicy, get_policy, resolve_masking_key
from tasks.silver.olist import (
    OlistSilver,
    bronze_ref,
    build_olist_silver,
    silver_parquet,
    write_silver_dataset,
)
from tasks.silver.quarantine import write_quarantine
from validation.catalog import SALES_CONSOLIDATED as CONSOLIDATED
from validation.catalog import Layer
from validation.gate import GateResult

ENCODE_THREADS = 2  # one per core: polars encodes each file with its own thread pool too
# The Olist datasets `consolidate_sales` joins (tasks/silver/olist.py), for its lineage.
SALES_INPUTS = ("orders", "order_items", "payments", "customers", "products", "reviews")


@dataclass
class SilverSummary:
    run_id: str
    rows: dict[str, dict] = field(default_factory=dict)  # dataset -> in/out/quarantined/dupes
    objects: list[str] = field(default_factory=list)
    reconciliation: dict = field(default_factory=dict)
    seconds: float = 0.0
    report_markdown: str = ""

    def stage_report(self) -> StageReport:
        """Rows in over the gated datasets (the consolidated sales table is derived from them),
        rows out over every dataset written, the gate results as the run's `quality`."""
        gated = {name: row for name, row in self.rows.items() if name != CONSOLIDATED}
        return StageReport(
            "silver",
            rows_in=sum(row["rows_in"] for row in gated.values()),
            rows_out=sum(row["rows_out"] for row in self.rows.values()),
            quarantined=sum(row["quarantined"] for row in gated.values()),
            objects=list(self.objects),
            run_facts={"quality": self.rows},
            payload={"rows": self.rows, "reconciliation": self.reconciliation},
        )


def run_silver(lake: Lake, settings: CofreSettings, run_id: str) -> SilverSummary:
    """Build every silver dataset (Olist and external sources); write only if all gates pass."""
    summary = _build_and_write(lake, settings, run_id)
    release_freed_memory()  # the frames are garbage now, and gold's JVM grows next
    return summary


def _build_and_write(lake: Lake, settings: CofreSettings, run_id: str) -> SilverSummary:
    started = time.perf_counter()
    log = run_logger(__name__)
    policy = get_policy(settings.masking_policy)
    key, key_origin = resolve_masking_key(settings)
    log.info("Masking with policy %r, key %s.", policy.name, key_origin)
    # The external sources are built beside the Olist datasets, and every Parquet file is
    # encoded in a thread as soon as its frame is final (the Olist datasets' while sales are
    # consolidated); nothing is written before all gates passed, and writes and audit stay
    # in order.
    with ThreadPoolExecutor(max_workers=ENCODE_THREADS, thread_name_prefix="silver-write") as pool:
        encoded: dict[str, Future[bytes]] = {}

        def encode(frames: dict[str, pl.DataFrame]) -> None:
            encoded.update({n: pool.submit(silver_parquet, f) for n, f in frames.items()})

        inputs: dict[str, list[dict]] = {}  # dataset -> the bronze objects it was built from
        silver, sources = _build(lake, settings, policy, key, run_id, pool, inputs, encode)
        inputs |= olist_inputs(silver)
        encode({name: gate.clean for name, gate in sources.items()})
        encode({CONSOLIDATED: silver.sales})
        encoders = {n: f.result for n, f in encoded.items()}
        summary = _write(lake, silver, sources, run_id, encoders, inputs)
    missing = sorted(set(BUILDERS) - set(sources))
    if missing:
        log.warning(
            "No bronze data yet for %s: run ingestion with its sources.", ", ".join(missing)
        )
    summary.reconciliation = vars(silver.reconciliation) | {
        "balanced": silver.reconciliation.balanced
    }
    summary.seconds = time.perf_counter() - started
    summary.report_markdown = quality_report(silver, summary)
    log.info("Silver written in %.1f s: %s", summary.seconds, ", ".join(summary.rows))
    return summary


def _build(
    lake: Lake,
    settings: CofreSettings,
    policy: MaskingPolicy,
    key: bytes,
    run_id: str,
    pool: ThreadPoolExecutor,
    inputs: dict[str, list[dict]],
    encode: Callable[[dict[str, pl.DataFrame]], None],
) -> tuple[OlistSilver, dict[str, GateResult]]:
    """Olist and external silver, built in memory; a failure is audited and raised.
    `inputs` receives the external datasets' bronze objects; `encode` the Olist datasets'
    final frames, before sales are consolidated."""
    try:
        built = pool.submit(
            contextvars.copy_context().run,
            build_source_silver,
            *(lake, settings.max_quarantine_share, inputs),
        )
        silver = build_olist_silver(
            lake,
            policy,
            key,
            settings.max_quarantine_share,
            on_datasets=lambda datasets: _encode_datasets(datasets, encode),
        )
        sources = built.result()
    except Exception as exc:
        audit.record(
            audit.Action.VALIDATION_FAILED,
            lake.url(Layer.SILVER),
            details={"run_id": run_id, "error": type(exc).__name__},
            outcome="failure",
        )
        if isinstance(exc, QualityGateFailed):
            events.gate_failed(exc, layer=Layer.SILVER, run_id=run_id)
        raise
    return silver, sources


def _encode_datasets(datasets: dict, encode: Callable[[dict[str, pl.DataFrame]], None]) -> None:
    # The parsing's buffers are garbage once every dataset is built: hand their pages back
    # before the encoded files and the consolidation's frames take their place.
    release_freed_memory()
    encode({name: dataset.frame for name, dataset in datasets.items()})


def olist_inputs(silver: OlistSilver) -> dict[str, list[dict]]:
    """The bronze objects behind each Olist silver dataset: its own file; products also
    carry the category translations; consolidated sales join `SALES_INPUTS`."""
    own = {n: [bronze_ref(d.source)] for n, d in silver.datasets.items() if d.source is not None}
    if "products" in own:
        own["products"] = own["products"] + own.get("category_translation", [])
    sales = {ref["key"]: ref for name in SALES_INPUTS for ref in own.get(name, [])}
    return own | {CONSOLIDATED: list(sales.values())}


def _write(
    lake: Lake,
    silver: OlistSilver,
    sources: dict[str, GateResult],
    run_id: str,
    encoded: dict[str, Callable[[], bytes]],
    inputs: dict[str, list[dict]],
) -> SilverSummary:
    """Write every dataset (Parquet from `encoded`, its bronze `inputs` in its manifest), its
    quarantine and its audit, in order."""
    summary = SilverSummary(run_id)
    for name, dataset in silver.datasets.items():
        written = write_silver_dataset(
            lake, name, dataset.frame, run_id, encoded[name](), inputs.get(name)
        )
        summary.objects.append(written["dataset"])
        gate = dataset.gate
        summary.rows[name] = {
            "rows_in": gate.rows_in,
            "rows_out": gate.rows_out,
            "quarantined": gate.quarantined_rows,
            "duplicates_removed": gate.duplicates_removed,
            "failures": gate.failure_counts(),
        }
        _audit_dataset(lake, name, dataset, run_id)
        if dataset.quarantine is not None:
            written = write_quarantine(lake, name, run_id, dataset.quarantine)
            summary.objects.append(written.url)
    for name, gate in sources.items():
        write_silver_dataset(lake, name, gate.clean, run_id, encoded[name](), inputs.get(name))
        summary.rows[name] = {
            "rows_in": gate.rows_in,
            "rows_out": gate.rows_out,
            "quarantined": gate.quarantined_rows,
            "failures": gate.failure_counts(),
        }
        audit.record(
            audit.Action.VALIDATION_PASSED,
            lake.url(Layer.SILVER, name),
            details={"run_id": run_id, "rows_in": gate.rows_in, "rows_out": gate.rows_out},
        )
    write_silver_dataset(
        lake, CONSOLIDATED, silver.sales, run_id, encoded[CONSOLIDATED](), inputs[CONSOLIDATED]
    )
    summary.rows[CONSOLIDATED] = {"rows_in": silver.sales.height, "rows_out": silver.sales.height}
    return summary


def _audit_dataset(lake: Lake, name: str, dataset, run_id: str) -> None:
    gate, masking = dataset.gate, dataset.masking
    target = lake.url(Layer.SILVER, name)
    audit.record(
        audit.Action.VALIDATION_PASSED,
        target,
        details={"run_id": run_id, "rows_in": gate.rows_in, "rows_out": gate.rows_out},
    )
    if gate.quarantined_rows:
        audit.record(
            audit.Action.QUARANTINE,
            lake.url(Layer.QUARANTINE, f"{name}/run_id={run_id}"),
            details={"rows": gate.quarantined_rows, "checks": gate.failure_counts()},
            outcome="warning",
            compliance="LGPD_VIOLATION"
            if any(c.startswith("no_pii") for c in gate.failure_counts())
            else "LGPD_NA",
        )
    if masking and any(method != "keep" for method in masking.columns.values()):
        audit.record(
            audit.Action.MASKING_APPLIED,
            target,
            details={
                "policy": masking.policy,
                "columns": masking.columns,
                "rows": masking.rows,
                "values_changed": masking.values_changed,
            },
            compliance=masking.compliance,
        )


def quality_report(silver: OlistSilver, summary: SilverSummary) -> str:
    """The quality gate report as Markdown (a Prefect artifact and the run's log)."""
    lines = [
        "# Silver quality report",
        "",
        "| dataset | rows in | rows out | quarantined | duplicates removed | failed checks |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, row in summary.rows.items():
        checks = ", ".join(f"{k}: {v}" for k, v in row.get("failures", {}).items()) or "—"
        lines.append(
            f"| {name} | {row['rows_in']:,} | {row['rows_out']:,} | {row.get('quarantined', 0):,}"
            f" | {row.get('duplicates_removed', 0):,} | {checks} |"
        )
    rec = silver.reconciliation
    lines += [
        "",
        "## Sales reconciliation (order-item grain, payments allocated)",
        f"- items: {rec.items:,}; orders with items: {rec.orders_with_items:,}",
        f"- orders without items (reported, kept in orders): {rec.orders_without_items:,}, "
        f"their payments R$ {rec.payments_of_orders_without_items_cents / 100:,.2f}",
        f"- payments without orders: {rec.payments_without_orders:,}; items of orders without "
        f"payment: {rec.items_without_payment:,}",
        f"- Σ payments of orders with items R$ {rec.paid_cents_of_orders_with_items / 100:,.2f}"
        f" = Σ allocated R$ {rec.allocated_cents / 100:,.2f}: "
        + ("balanced" if rec.balanced else "NOT BALANCED"),
    ]
    return "\n".join(lines)
