"""Order statuses in the seed dashboard's panels: every Olist status belongs to exactly one
bucket (the catalog's `ORDER_BUCKETS` names them; a test checks they agree)."""

from __future__ import annotations

from validation.catalog import ORDER_BUCKET_LABELS

STATUS_BUCKETS: dict[str, tuple[str, ...]] = {
    "fulfilled": ("delivered", "shipped"),
    "awaiting_release": ("created", "approved", "invoiced", "processing"),
    "lost": ("canceled", "unavailable"),
}
BUCKET_LABELS = ORDER_BUCKET_LABELS["pt"]  # `order_status_summary.label`
UNMAPPED = "unmapped"  # a status outside the buckets: the gold gate fails on it
