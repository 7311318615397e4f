"""Hold COFRE_HOME's lock from one process: the home-lock tests' second (or first) process.

Usage: python lock_holder.py RUN_ID HOLD_SECONDS [LEASE_SECONDS]

Takes `hold_home` for the settings in the environment (COFRE_HOME, COFRE_LAKE_URL,
COFRE_S3_ENDPOINT_URL, COFRE_LOCK_WAIT_SECONDS), prints "held" once it holds the lock, holds
it HOLD_SECONDS, and exits 0. A refusal prints "busy: <message>" and exits 3.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: find `blocks`

from blocks.errors import HomeBusy
from blocks.lake import Lake
from blocks.lake.home_lock import hold_home
from blocks.settings import load_settings


def hold(run_id: str, seconds: float, lease_seconds: float) -> int:
    settings = load_settings()
    lake = Lake.from_settings(settings) if settings.lake_url else None
    try:
        with hold_home(
            settings, lake, run_id=run_id, command="lock_holder", lease_seconds=lease_seconds
        ):
            print("held", flush=True)
            time.sleep(seconds)
    except HomeBusy as exc:
        print(f"busy: {exc}", flush=True)
        return 3
    return 0


if __name__ == "__main__":
    lease = float(sys.argv[3]) if len(sys.argv) > 3 else 60.0
    sys.exit(hold(sys.argv[1], float(sys.argv[2]), lease))
