"""What `python -m flows.full_pipeline` prints: a line per stage as it ends, the run summary
once as a plain table, no Markdown and no task-completion noise; on a terminal, and only
there, a live line naming the running stage."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "-m", "flows.full_pipeline", "--synthetic-orders", "300",
           "--sources", "snapshot"]  # fmt: skip
STAGES = ("ingestion", "silver", "gold", "warehouse")
STAGE_LINE = re.compile(
    r" - (\w+) +completed +[\d,]+ in +[\d,]+ out +[\d,]+ quarantined +\d+\.\d s$"
)
LIVE_LINE = re.compile(r"\.\.\. full pipeline \d+ s(?: > (\w+) \d+ s)?")


def _env(prefect_api, **extra: str) -> dict[str, str]:
    return {**os.environ, "PREFECT_API_URL": prefect_api.url, **extra}


def test_a_piped_run_prints_its_stages_and_one_plain_summary(prefect_api):
    run = subprocess.run(
        COMMAND, cwd=ROOT, env=_env(prefect_api), capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-3000:]
    lines = (run.stdout + run.stderr).splitlines()
    stage_lines = [line for line in lines if STAGE_LINE.search(line)]
    assert [STAGE_LINE.search(line)[1] for line in stage_lines] == list(STAGES), lines
    # Aligned: the counts and the seconds end in the same columns on every stage's line.
    for word in (" in ", " out ", " quarantined ", " s"):
        assert len({line.rindex(word) for line in stage_lines}) == 1, (word, stage_lines)
    # The summary once, as a plain table: its header, a rule, a row per stage.
    titles = [i for i, line in enumerate(lines) if re.search(r" - Run [\w-]+: completed$", line)]
    assert len(titles) == 1, lines
    table = lines[titles[0] + 2 : titles[0] + 8]
    assert table[0].split()[:3] == ["stage", "status", "rows"], table
    assert set(table[1].replace(" ", "")) == {"-"}, table
    assert [row.split()[:2] for row in table[2:]] == [[s, "completed"] for s in STAGES], table
    # No Markdown anywhere (tables, headings), and no task-completion lines.
    messages = [line.split(" - ", 1)[-1] for line in lines]
    assert not [m for m in messages if m.lstrip().startswith(("|", "#"))], messages
    assert "Silver quality report" in messages and "dataset" in " ".join(messages)
    assert not [line for line in lines if "Task run" in line and "Finished in state" in line]
    # Nor a line per landed object or written gold table: the stage lines and reports count them.
    assert not [line for line in lines if line.endswith(", landed") or " - Gold table " in line]
    assert any("Flow run" in line and "Finished in state Completed()" in line for line in lines)
    assert "USING SYNTHETIC OLIST DATA" in run.stderr  # warnings still show
    assert "\r" not in run.stderr and "\x1b[K" not in run.stderr and "... full" not in run.stderr


def _run_on_a_terminal(command: list[str], env: dict[str, str], timeout: float) -> tuple[int, str]:
    """`command` with stdin, stdout and stderr on a pseudo-terminal; its code and output."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdin=follower, stdout=follower, stderr=follower
    )
    os.close(follower)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1.0)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's last writer is gone
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)
    return code, b"".join(chunks).decode(errors="replace")


def test_on_a_terminal_a_live_line_names_the_running_stage(prefect_api):
    env = _env(prefect_api, TERM="xterm")
    code, output = _run_on_a_terminal(COMMAND, env, timeout=600)
    assert code == 0, output[-3000:]
    stages_shown = {match[1] for match in LIVE_LINE.finditer(output)}
    assert set(STAGES) <= stages_shown, output[-3000:]  # each drawn as it starts
    assert any(match[0].endswith(" s") for match in LIVE_LINE.finditer(output))
    # Each draw is cleared before anything else is written on its line, and the last one
    # is cleared before the process ends.
    for after in re.findall(LIVE_LINE.pattern + r"([^\r]*)", output):
        assert after[-1] == "", output[-3000:]
    assert output.rfind("\r\x1b[K") > output.rfind("... full pipeline")
    assert "Run summary:" in output
