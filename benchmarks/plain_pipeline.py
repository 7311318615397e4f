"""The full pipeline's work without Prefect: the same plain functions the tasks wrap, called
in order in one process. The orchestration benchmark compares it with `flows.full_pipeline`.

    python -m benchmarks.plain_pipeline --olist-dir DIR    # needs COFRE_HOME; prints JSON
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--olist-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    imported = time.perf_counter()
    from blocks.lake import Lake
    from blocks.settings import load_settings
    from tasks.gold.run import run_gold_stage
    from tasks.silver.run import run_silver
    from tasks.sources.ipca.ingest import ingest_ipca
    from tasks.sources.olist.ingest import check_olist_dir, land_olist_file
    from tasks.sources.open_meteo.ingest import ingest_open_meteo
    from tasks.sources.openweather.ingest import ingest_openweather
    from tasks.warehouse.run import load_warehouse

    seconds: dict[str, float] = {"imports": time.perf_counter() - imported}
    settings = load_settings(olist_dir=str(args.olist_dir), sources="snapshot")
    lake, run_id = Lake.from_settings(settings), uuid.uuid4().hex
    lake.ensure_buckets()

    started = time.perf_counter()
    for file in check_olist_dir(args.olist_dir):
        land_olist_file(lake, file, run_id)
    for ingest in (ingest_ipca, ingest_openweather, ingest_open_meteo):
        ingest(lake, settings, run_id, settings.sources)
    seconds["ingestion"] = time.perf_counter() - started
    started = time.perf_counter()
    run_silver(lake, settings, run_id)
    seconds["silver"] = time.perf_counter() - started
    started = time.perf_counter()
    gold = run_gold_stage(lake, run_id)
    seconds["gold"] = time.perf_counter() - started
    started = time.perf_counter()
    load_warehouse(lake, settings, run_id)
    seconds["warehouse"] = time.perf_counter() - started
    seconds["spark_startup"] = gold.session_seconds
    print(json.dumps({k: round(v, 2) for k, v in seconds.items()}))


if __name__ == "__main__":
    main()
