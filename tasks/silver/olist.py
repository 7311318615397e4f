"""Silver from bronze: typed, deduplicated, validated, masked; bad rows quarantined.

`build_olist_silver` does all the work in memory and returns every dataset and its gate
result; `write_silver` writes only after every gate passed, so a failed run leaves the
previous silver intact (no partial writes).
"""

from __future__ import annotations

import contextvars
import hashlib
import io
import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl

from blocks.errors import InvalidSourceData
from blocks.lake import Lake
from tasks.bronze import BronzeManifest, list_manifests, read_landed
from tasks.memory import release_freed_memory
from tasks.silver.masking import (
    MaskingPolicy,
    MaskingReport,
    apply_masking,
    text_has_pii,
    text_may_hold_pii,
)
from tasks.silver.sales import (
    SalesReconciliation,
    consolidate_sales,
    latest_review_scores,
    payments_per_order,
)
from tasks.sources.olist.contract import dataset_name
from tasks.sources.olist.parse import TYPES, read_text_frame, source_file, type_frame
from validation.catalog import SILVER, Layer, silver_key, silver_manifest_key
from validation.catalog_silver import SILVER_DECLARED
from validation.gate import (
    ROW,
    GateResult,
    check_share,
    empty_failures,
    row_failures,
    run_gate,
)
from validation.schemas import OLIST_SCHEMAS
from validation.unique import distinct_by_hash

FREE_TEXT = {"reviews": ("review_comment_title", "review_comment_message")}
BRAZIL_LAT, BRAZIL_LNG = (-34.0, 5.5), (-74.0, -28.0)
# Built in this order: items' referential checks need clean orders, products and sellers.
BUILD_ORDER = (
    "orders", "products", "sellers", "customers", "payments", "reviews", "geolocation",
    "category_translation", "order_items",
)  # fmt: skip
LAST = frozenset({"order_items"})  # started once everything before it in BUILD_ORDER is clean
BUILD_THREADS = 3


@dataclass
class SilverDataset:
    name: str
    frame: pl.DataFrame
    gate: GateResult
    masking: MaskingReport | None = None
    source: BronzeManifest | None = None
    quarantine: pl.DataFrame | None = None


@dataclass
class OlistSilver:
    datasets: dict[str, SilverDataset]
    sales: pl.DataFrame
    reconciliation: SalesReconciliation
    notes: list[str] = field(default_factory=list)


def newest_bronze(lake: Lake, source: str, dataset: str) -> BronzeManifest | None:
    """The newest valid bronze object of a dataset; None when there is none."""
    manifests = [m for m in list_manifests(lake, source, dataset) if m.valid]
    return manifests[-1] if manifests else None


def latest_bronze(
    lake: Lake, source: str, dataset: str, manifest: BronzeManifest | None = None
) -> tuple[BronzeManifest, bytes]:
    """The newest valid bronze object of a dataset (`manifest`, when the caller found it),
    with its bytes (checksum verified)."""
    manifest = manifest or newest_bronze(lake, source, dataset)
    if manifest is None:
        raise InvalidSourceData(
            f"No valid bronze object for {source}/{dataset} in {lake.url(Layer.BRONZE)}. Run the "
            "ingestion stage first: python -m flows.ingestion"
        )
    data = read_landed(lake, manifest)
    if hashlib.sha256(data).hexdigest() != manifest.sha256:
        raise InvalidSourceData(
            f"{lake.url(Layer.BRONZE, manifest.key)} does not match the sha256 in its manifest: "
            "bronze was altered after landing. Restore it from cold storage or re-ingest."
        )
    return manifest, data


def _dedupe(frame: pl.DataFrame, key: tuple[str, ...] = ()) -> tuple[pl.DataFrame, int]:
    """Drop repeated rows (all columns but `_row`), keeping each one's first occurrence.

    Same rows, same order as `unique(keep="first", maintain_order=True)`, in half the time on
    the 1M-row geolocation file (nulls, NaN and -0.0 compare alike in both). `key`: the
    dataset's key columns (none of them floating point). Equal rows have equal keys, so when
    no key repeats no row does, and the key alone is hashed (10x: 0.09 -> 0.04 s a file;
    proved by the keys' row hashes first, `distinct_by_hash`: 0.03 s).
    """
    if key and (distinct_by_hash(frame, key) or not frame.select(key).is_duplicated().any()):
        return frame, 0
    columns = [c for c in frame.columns if c != ROW]
    unique = frame.filter(pl.struct(columns).is_first_distinct())
    return unique, frame.height - unique.height


def _dedupe_key(name: str, frame: pl.DataFrame) -> tuple[str, ...]:
    """The dataset's declared key when it can stand for the whole row in `_dedupe` (no
    floating-point column: 0.0 and -0.0 are one value in a row, two in a key)."""
    key = SILVER_DECLARED[name].key
    return () if any(frame.schema[column].is_float() for column in key) else key


def _geolocation(typed: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows outside Brazil become failures; the rest collapse to one row per zip prefix."""
    outside = ~pl.col("geolocation_lat").is_between(*BRAZIL_LAT) | ~pl.col(
        "geolocation_lng"
    ).is_between(*BRAZIL_LNG)
    failures = row_failures(typed, outside.fill_null(True), "coordinates_in_brazil", None)
    per_prefix = (
        typed.filter(~outside.fill_null(True))
        .group_by("geolocation_zip_code_prefix")
        .agg(
            pl.col(ROW).min(),
            pl.col("geolocation_lat").median(),
            pl.col("geolocation_lng").median(),
            pl.col("geolocation_city").first(),
            pl.col("geolocation_state").first(),
        )
        .sort("geolocation_zip_code_prefix")
        .select(ROW, *TYPES["geolocation"])
    )
    return per_prefix, failures


# What order items reference: {dataset: its key}. Only these keys of the clean (unmasked)
# datasets are kept for the check.
ITEM_REFERENCES = {"orders": "order_id", "products": "product_id", "sellers": "seller_id"}


def _item_references(items: pl.DataFrame, clean: dict[str, pl.DataFrame]) -> pl.DataFrame:
    found = [
        row_failures(
            items, ~pl.col(key).is_in(clean[table][key].implode()), f"references_{table}", key
        )
        for table, key in ITEM_REFERENCES.items()
    ]
    return pl.concat(found)


def _pii_failures(dataset: str, masked: pl.DataFrame) -> pl.DataFrame:
    columns = FREE_TEXT.get(dataset, ())
    found = [
        row_failures(masked.filter(text_may_hold_pii(c)), text_has_pii(c), "no_pii_in_free_text", c)
        for c in columns
    ]
    return pl.concat([empty_failures(), *found])


def _build_one(
    lake: Lake,
    name: str,
    bronze: BronzeManifest | None,
    clean: dict[str, pl.DataFrame],
    policy: MaskingPolicy,
    key: bytes,
    max_share: float,
    cache: dict,
) -> SilverDataset:
    manifest, data = latest_bronze(lake, "olist", dataset_name(source_file(name)), bronze)
    text, malformed, lines = read_text_frame(data, name)  # raises MalformedCsv on a break
    del data  # the file's bytes, parsed: not held while the frames are built (10x: 420 MiB)
    typed, parse_failures = type_frame(text, name)
    rows_in = text.height + malformed.height
    prior = [malformed, parse_failures]
    typed = typed.join(parse_failures.select(ROW).unique(), on=ROW, how="anti")
    typed, duplicates = _dedupe(typed, _dedupe_key(name, typed))
    if name == "geolocation":
        typed, outside = _geolocation(typed)
        prior.append(outside)
    if name == "order_items":
        prior.append(_item_references(typed, clean))
    gate = run_gate(
        name,
        typed,
        OLIST_SCHEMAS[name],
        prior_failures=pl.concat(prior),
        max_share=max_share,
        rows_in=rows_in,
    )
    gate.duplicates_removed = duplicates
    if name in ITEM_REFERENCES:
        clean[name] = gate.clean.select(ITEM_REFERENCES[name])
    masked, report = apply_masking(gate.clean, name, policy, key, cache)
    # From here the rows live on masked: the gate keeps their ids only. The unmasked values
    # of every dataset held to the end raised silver's peak (10x: by about 100 MiB).
    gate.clean = gate.clean.select(ROW)
    pii = _pii_failures(name, masked)
    if pii.height:  # the policy let personal data through: hold those rows back
        gate.failures = pl.concat([gate.failures, pii])
        masked = masked.join(pii.select(ROW), on=ROW, how="anti")
        gate.clean = gate.clean.join(pii.select(ROW), on=ROW, how="anti")
        check_share(gate, max_share)
    from tasks.silver.quarantine import quarantine_frame

    quarantine = (
        quarantine_frame(name, text, gate.failures, policy, key, lines)
        if gate.failures.height
        else None
    )
    return SilverDataset(name, masked, gate, report, manifest, quarantine)


def start_order(bronze: dict[str, BronzeManifest | None]) -> list[str]:
    """The datasets before `LAST`, largest bronze object first (ties in `BUILD_ORDER`), so no
    long one is left building alone at the end: at 1x the geolocation file is the largest,
    at 10x orders, reviews and customers (4-5 s each there, the rest 2 s or less). A dataset
    with nothing landed goes last; its build raises."""
    size = {name: manifest.bytes if manifest else -1 for name, manifest in bronze.items()}
    return sorted((n for n in BUILD_ORDER if n not in LAST), key=lambda n: -size[n])


def build_olist_silver(
    lake: Lake,
    policy: MaskingPolicy,
    masking_key: bytes,
    max_share: float = 0.01,
    on_datasets: Callable[[dict[str, SilverDataset]], None] | None = None,
) -> OlistSilver:
    """Every Olist silver dataset plus consolidated sales; raises `QualityGateFailed`.

    Datasets are built in threads (pyarrow, polars, numpy and hashlib release the GIL), each
    as it would be alone; order items wait for the clean tables they reference. The first
    failure in `BUILD_ORDER` is the one raised, as if they were built one after another.
    `on_datasets` receives the datasets, final and gated, before the consolidation starts
    (the stage encodes their Parquet meanwhile).
    """
    clean: dict[str, pl.DataFrame] = {}
    tokens: dict = {}  # values that repeat across tables are HMAC'd once (masking.py)
    bronze = {n: newest_bronze(lake, "olist", dataset_name(source_file(n))) for n in BUILD_ORDER}

    def submit(pool: ThreadPoolExecutor, name: str) -> Future:
        # A copy of the caller's context per thread keeps logs in the Prefect run's logger.
        return pool.submit(
            contextvars.copy_context().run,
            _build_one,
            *(lake, name, bronze[name], clean, policy, masking_key, max_share, tokens),
        )

    prepared: dict[str, Future] = {}
    with ThreadPoolExecutor(max_workers=BUILD_THREADS, thread_name_prefix="silver") as pool:
        futures = {name: submit(pool, name) for name in start_order(bronze)}
        datasets = {}
        try:
            for name in BUILD_ORDER:
                if name in LAST:
                    # Every other dataset is built: hand their parsing's freed pages back
                    # before the largest file is parsed (the stage's peak is here at 10x),
                    # and the tokens kept for them (10x: a million customer ids, 80 MiB).
                    tokens.clear()
                    release_freed_memory()
                    futures[name] = submit(pool, name)
                    # What the consolidation needs of payments and reviews alone is computed
                    # while order items are parsed, when a core is free (10x: 0.3 s off the
                    # consolidation, which runs alone).
                    prepared = {
                        "per_order": pool.submit(payments_per_order, datasets["payments"].frame),
                        "latest_reviews": pool.submit(
                            latest_review_scores, datasets["reviews"].frame
                        ),
                    }
                datasets[name] = futures[name].result()
        except BaseException:
            for future in futures.values():
                future.cancel()
            raise
    translations = datasets["category_translation"].frame.drop(ROW)
    products = datasets["products"]
    products.frame = products.frame.join(translations, on="product_category_name", how="left")
    if on_datasets is not None:
        on_datasets(datasets)
    frames = {name: ds.frame for name, ds in datasets.items()}
    sales, reconciliation = consolidate_sales(
        frames["orders"],
        frames["order_items"],
        frames["payments"],
        frames["customers"],
        frames["products"],
        frames["reviews"],
        **{part: future.result() for part, future in prepared.items()},
    )
    return OlistSilver(datasets, sales, reconciliation)


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    # zstd level 1: measured 2.7x faster to write than polars' default level at real size,
    # and no larger (docs/performance.md).
    frame.write_parquet(buffer, compression="zstd", compression_level=1)
    return buffer.getvalue()


def silver_parquet(frame: pl.DataFrame) -> bytes:
    """The bytes `write_silver_dataset` writes for `frame` (encode ahead, e.g. in a thread)."""
    return parquet_bytes(frame.drop(ROW, strict=False))


def bronze_ref(manifest: BronzeManifest) -> dict[str, Any]:
    """A bronze object as a silver manifest lists it (its `inputs`: silver's lineage link)."""
    return {
        "key": manifest.key,
        "sha256": manifest.sha256,
        "source": manifest.source,
        "dataset": manifest.dataset,
        "bytes": manifest.bytes,
        "fetched_at": manifest.fetched_at,
        "landed_by_run": manifest.run_id,
    }


def write_silver_dataset(
    lake: Lake,
    name: str,
    frame: pl.DataFrame,
    run_id: str,
    encoded: bytes | None = None,
    inputs: list[dict] | None = None,
) -> dict:
    """Replace `silver/<name>/data.parquet` atomically and describe it in `_manifest.json`.

    `encoded`: `silver_parquet(frame)` when already computed. `inputs`: the bronze objects
    it was built from (`bronze_ref` each), recorded as the manifest's `inputs`.
    """
    frame = frame.drop(ROW, strict=False)
    data = parquet_bytes(frame) if encoded is None else encoded
    written = lake.write_bytes(SILVER, silver_key(name), data)
    manifest = {
        "dataset": name,
        "rows": frame.height,
        "columns": {c: str(t) for c, t in frame.schema.items()},
        "sha256": written.sha256,
        "bytes": written.size,
        "run_id": run_id,
        "written_at": datetime.now(UTC).isoformat(),
    }
    if inputs is not None:
        manifest["inputs"] = inputs
    lake.write_bytes(SILVER, silver_manifest_key(name), json.dumps(manifest, indent=2).encode())
    return manifest
