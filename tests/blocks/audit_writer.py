"""Append audit records from one process, several threads: the concurrency test's worker.

Usage: python audit_writer.py LABEL RECORDS THREADS GO_FILE

Prints "ready" once imported, waits until GO_FILE exists (so every worker starts appending
at the same moment), appends RECORDS records split over THREADS threads, and exits non-zero
if any append failed. COFRE_HOME comes from the environment.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: find `blocks`

from blocks.audit import Action, record


def append_records(label: str, count: int, threads: int, go: Path) -> int:
    print("ready", flush=True)
    deadline = time.monotonic() + 60
    while not go.exists():
        if time.monotonic() > deadline:
            print(f"{go} never appeared", file=sys.stderr)
            return 2
        time.sleep(0.002)
    failures: list[str] = []

    def write(worker: int) -> None:
        try:
            for n in range(worker, count, threads):
                record(Action.LAKE_WRITE, f"{label}/{n}", details={"writer": label, "n": n})
        except Exception:
            failures.append(traceback.format_exc())

    workers = [threading.Thread(target=write, args=(w,)) for w in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    label, count, threads, go = sys.argv[1:5]
    sys.exit(append_records(label, int(count), int(threads), Path(go)))
