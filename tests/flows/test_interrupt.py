"""Ctrl-C during a stage, sent as SIGINT to a real `python -m flows.full_pipeline`: exit 130,
one line naming the stage, nothing published (no gold version made current, no warehouse),
the home's lock released and the run audited as interrupted (issues 27 item 7 and 28)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from validation.catalog import GOLD_POINTER

ROOT = Path(__file__).resolve().parents[2]


def _env(home: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("COFRE_", "PREFECT_API", "AWS_"))
    }
    env.pop("PREFECT_HOME", None)
    return {**env, "COFRE_HOME": str(home), "DO_NOT_TRACK": "1", "PYTHONUNBUFFERED": "1"}


def _interrupt_when(stage: str, home: Path, cwd: Path) -> tuple[int, str]:
    """Run the pipeline, send SIGINT once `stage`'s subflow has begun; its code and output."""
    command = [sys.executable, "-m", "flows.full_pipeline", "--synthetic-orders", "20000",
               "--sources", "snapshot"]  # fmt: skip
    return _interrupt_on(
        command, lambda line: "Beginning subflow run" in line and f"for flow '{stage}'" in line,
        home, cwd,
    )  # fmt: skip


def _interrupt_on(
    command: list[str], trigger: Callable[[str], bool], home: Path, cwd: Path
) -> tuple[int, str]:
    """Run `command`, send one SIGINT (as a terminal's Ctrl-C does) at the first output line
    `trigger` accepts; its exit code and whole output, once no process it started is left."""
    process = subprocess.Popen(command, cwd=cwd, env=_env(home), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
    lines: list[str] = []
    children: set[int] = set()
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        children |= _children(process.pid)
        if trigger(line):
            process.send_signal(signal.SIGINT)
            break
    code = process.wait(timeout=300)
    _assert_gone(children, "".join(lines))  # else its pipe stays open and the reading hangs
    lines.extend(process.stdout)
    return code, "".join(lines)


def _children(pid: int) -> set[int]:
    """The live child processes of `pid` (the temporary Prefect API among them)."""
    found: set[int] = set()
    with contextlib.suppress(OSError):
        for thread in os.listdir(f"/proc/{pid}/task"):
            found |= {
                int(c) for c in Path(f"/proc/{pid}/task/{thread}/children").read_text().split()
            }
    return found


def _assert_gone(pids: set[int], output: str) -> None:
    """No process the run started outlives it (the temporary API was once left orphaned)."""
    deadline = time.monotonic() + 15
    while (alive := {p for p in pids if _running(p)}) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in alive:
        os.kill(pid, signal.SIGKILL)  # do not leave it to hang the rest of the suite
    assert not alive, f"left running after Ctrl-C: {alive}\n{output[-2000:]}"


def _ended_by_ctrl_c(code: int) -> bool:
    """Exit 130, or death by SIGINT itself (-2): a shell reports both as 130. The second was
    seen twice in 2026-12 (CI, and once locally) after the one line and the audit were
    written, with no traceback; what delivers the late SIGINT was not found."""
    return code in (130, -signal.SIGINT)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_ctrl_c_during_a_stage_ends_cleanly_and_publishes_nothing(tmp_path):
    home = tmp_path / "home"
    code, output = _interrupt_when("silver", home, tmp_path)
    assert _ended_by_ctrl_c(code), output[-3000:]
    closing = [line for line in output.splitlines() if line.startswith("Cofre ")]
    assert closing == ["Cofre interrupted (Ctrl-C) during silver; nothing was published"], output
    assert "Traceback" not in output, output[-3000:]
    # Nothing published: no gold version is current, no warehouse was created.
    assert not (home / "lake" / "gold" / GOLD_POINTER).exists()
    assert not (home / "warehouse.db").exists()
    # The lock was released cleanly: no holder record, and the next run can take it.
    assert not (home / ".cofre.lock.json").exists()
    with open(home / ".cofre.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises BlockingIOError if held
    # The audit trail records the run as interrupted, naming the stage's state.
    records = [json.loads(line) for line in (home / "audit" / "audit.jsonl").open()]
    ends = [r for r in records if r["action"] == "PIPELINE_RUN"]
    assert ends[-1]["details"]["event"] == "interrupted", ends[-1]
    assert ends[-1]["outcome"] == "failure"
    assert ends[-1]["details"]["stages"] == {"ingestion": "completed", "silver": "interrupted"}
    # The run summary says it too, and the trail still verifies.
    summaries = list((home / "lake" / "gold" / "_runs").glob("*.json"))
    assert [json.loads(p.read_text())["state"] for p in summaries] == ["interrupted"]
    verify_command = [sys.executable, "-m", "flows.cli", "audit", "verify"]
    verify = subprocess.run(verify_command, cwd=tmp_path, env=_env(home), capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_an_interrupted_stage_flow_run_alone_names_its_stage(tmp_path):
    """`python -m flows.ingestion` alone: the frame audits and names the stage itself."""
    home = tmp_path / "home"
    # 200,000 orders: landing them takes seconds after the banner, so the signal lands in the
    # flow's body even on a loaded machine (at 20,000 the body had once ended by then, and the
    # run rightly said to look at its state instead).
    command = [sys.executable, "-m", "flows.ingestion", "--synthetic-orders", "200000",
               "--sources", "snapshot"]  # fmt: skip
    code, output = _interrupt_on(
        command, lambda line: "USING SYNTHETIC OLIST DATA" in line, home, tmp_path
    )
    assert _ended_by_ctrl_c(code), output[-3000:]
    closing = [line for line in output.splitlines() if line.startswith("Cofre ")]
    assert closing == ["Cofre interrupted (Ctrl-C) during ingestion; nothing was published"], (
        output[-3000:]
    )
    assert "Traceback" not in output, output[-3000:]
    records = [json.loads(line) for line in (home / "audit" / "audit.jsonl").open()]
    ends = [r for r in records if r["action"] == "PIPELINE_RUN"]
    assert ends[-1]["details"]["event"] == "interrupted", ends[-1]
    assert not (home / ".cofre.lock.json").exists()
