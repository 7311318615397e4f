"""The lifecycle stage's Prefect task face: the bronze -> cold move, retried (it is resumable)."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.lifecycle.move import run_lifecycle

move_old_bronze = task(
    run_lifecycle,
    name="move-old-bronze-to-cold",
    task_run_name="lifecycle bronze -> cold (older than {days} days)",
    retries=2,
    retry_delay_seconds=[5, 30],
    retry_jitter_factor=0.5,
    cache_policy=NO_CACHE,
)
