"""The ingestion stage's Prefect task faces over each source's plain ingest functions.

The retry policy is declared once: an external source's fetch retries (after 10 s, then 60 s)
only when the source was unavailable, never on a refused key or a bad payload; an Olist file's
landing retries quickly (a local or S3 write). Landings are idempotent by sha256, so Prefect's
result caching is off: it would add nothing but a stored copy.
"""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.sources.external import retry_on_fetch_failure
from tasks.sources.ipca.ingest import ingest_ipca
from tasks.sources.olist.ingest import checked_olist_dir, land_olist_file, resolve_olist_dir
from tasks.sources.open_meteo.ingest import ingest_open_meteo
from tasks.sources.openweather.ingest import ingest_openweather

FETCH_RETRIES = {
    "retries": 2,
    "retry_delay_seconds": [10, 60],
    "retry_jitter_factor": 0.5,  # runs that met one outage do not all come back at once
    "retry_condition_fn": retry_on_fetch_failure,
    "cache_policy": NO_CACHE,
}

ingest_ipca_task = task(
    ingest_ipca, name="ingest-ipca", task_run_name="ingest bcb_sgs/ipca_433", **FETCH_RETRIES
)
ingest_open_meteo_task = task(
    ingest_open_meteo,
    name="ingest-open-meteo",
    task_run_name="ingest open_meteo/daily",
    **FETCH_RETRIES,
)
ingest_openweather_task = task(
    ingest_openweather,
    name="ingest-openweather",
    task_run_name="ingest openweather/current",
    **FETCH_RETRIES,
)

resolve_olist_dir_task = task(resolve_olist_dir, name="resolve-olist-source", cache_policy=NO_CACHE)
check_olist_dir_task = task(checked_olist_dir, name="check-olist-files", cache_policy=NO_CACHE)
land_olist_file_task = task(
    land_olist_file,
    name="land-olist-file",
    task_run_name="land olist/{file.dataset}",
    retries=2,
    retry_delay_seconds=[2, 10],
    retry_jitter_factor=0.5,
    cache_policy=NO_CACHE,
)

# Each external source's task, by source name (Olist is landed file by file by the flow).
EXTERNAL_TASKS = {
    "ipca": ingest_ipca_task,
    "openweather": ingest_openweather_task,
    "open_meteo": ingest_open_meteo_task,
}
