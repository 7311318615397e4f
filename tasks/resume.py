"""Resume a failed full-pipeline run from the stage that failed, from its run summary.

`python -m flows.full_pipeline --resume RUN_ID` (or the flow's `resume` parameter) starts a new
run that reads `gold/_runs/<RUN_ID>.json`, keeps the stages that run finished and runs the
rest. What it refuses, each with one `Cofre stopped:` line saying what to do:

- a RUN_ID that is not a flow run id (a UUID: it names a lake key, never a path);
- a run with no summary in this lake (unknown here, or killed before it wrote one), one that
  completed, one still running, one recorded before resuming existed (no options), or one
  already resumed by another run (resume that run instead, if it failed too);
- options given beside RUN_ID that differ from the run's (`MAY_CHANGE_ON_RESUME` aside): a
  resume reads the same inputs and writes to the same places;
- inputs that changed since: an Olist directory whose files' sha256 differ from the run's
  provenance, or bronze that now holds newer Olist objects than the run landed;
- outputs of the finished stages that are gone or were replaced since (silver rewritten by
  another run, another gold version made current).

Standard library and the lake only (no Prefect, no polars): the command line checks a local
lake's run before Prefect starts, and the flow checks again under the home's lock.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from blocks.errors import ConfigurationError, LakeError
from blocks.lake import Lake, sha256_file
from tasks.bronze import list_manifests
from tasks.run_summary import RUN_FACTS
from tasks.sources.olist.contract import dataset_name
from validation.catalog import (
    GOLD_POINTER,
    GOLD_VERSIONS,
    MANIFEST,
    RUNS_PREFIX,
    SILVER,
    Layer,
    silver_manifest_key,
)

STAGES = ("ingestion", "silver", "gold", "warehouse")  # the full pipeline's, in order
# Options a resume may give anew: where the summary is read (the run's own lake, or it would
# not be found there), and where gold is computed (both engines build the same gold).
MAY_CHANGE_ON_RESUME = ("lake", "engine", "master")
FINISHED = ("completed", "skipped")  # skipped: finished by an earlier run this one resumed
_RUN_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NEW_RUN = "start a new run instead (without --resume)"


@dataclass(frozen=True)
class ResumePlan:
    """What a resumed run keeps of the run it resumes, and where it starts."""

    run_id: str  # the run resumed
    options: dict[str, Any]  # that run's options, as its summary recorded them
    done: tuple[dict, ...]  # its summary rows of the stages finished, in order
    facts: dict[str, Any]  # the summary facts those stages set (`RUN_FACTS`)

    @property
    def kept_stages(self) -> tuple[str, ...]:
        """The stages finished, which the resuming run keeps and does not run again."""
        return tuple(row["stage"] for row in self.done)

    @property
    def start(self) -> str:
        """The first stage to run: the one that failed (or was interrupted)."""
        return STAGES[len(self.done)]

    def done_in(self, stage: str) -> str:
        """The run whose work a finished stage is (this one, or one it resumed in turn)."""
        row = next(r for r in self.done if r["stage"] == stage)
        return row.get("done_in") or self.run_id

    def kept_rows(self) -> list[dict]:
        """The finished stages' rows for the resuming run's summary: status `skipped`, the
        figures as they were, no seconds, and the run that did the work."""
        return [
            {**row, "status": "skipped", "seconds": 0.0, "done_in": self.done_in(row["stage"]),
             "note": f"done in run {self.done_in(row['stage'])}"}
            for row in self.done
        ]  # fmt: skip


def check_run_id(value: str) -> str:
    """`value` as a flow run id (a lower-case UUID). Raises `ConfigurationError` otherwise."""
    if not isinstance(value, str) or not _RUN_ID.fullmatch(value.strip().lower()):
        raise ConfigurationError(
            f"--resume {str(value)[:80]!r} is not a run id: give the id of a failed run, a "
            "UUID such as 0b8e5f0c-1f0a-4c1e-9a57-2f9a3c0d1e2f (the run summary and the "
            "`Cofre stopped:` line of the failed run name it)."
        )
    return value.strip().lower()


def plan_resume(lake: Lake, run_id: str, given: dict[str, Any]) -> ResumePlan:
    """Check that run `run_id` of this lake can be resumed with the options `given` beside
    it (None: not given); return what to keep. Raises `ConfigurationError` naming the
    reason and what to do (see the module docstring)."""
    run_id = check_run_id(run_id)
    summary = read_summary(lake, run_id)
    _refuse_unresumable(lake, run_id, summary)
    options = summary["options"]
    _refuse_other_options(run_id, options, given)
    done = _finished_stages(summary)
    facts = {name: summary[name] for name in RUN_FACTS if summary.get(name)}
    plan = ResumePlan(run_id, options, tuple(done), facts)
    _refuse_changed_inputs(lake, plan)
    _refuse_missing_outputs(lake, plan)
    return plan


def read_summary(lake: Lake, run_id: str) -> dict[str, Any]:
    """The run summary of `run_id` (`gold/_runs/<run_id>.json`). Raises `ConfigurationError`
    when this lake has none or it is unreadable."""
    key = f"{RUNS_PREFIX}/{run_id}.json"
    try:
        found = (
            json.loads(lake.read_bytes(Layer.GOLD, key)) if lake.exists(Layer.GOLD, key) else None
        )
    except (ValueError, OSError, LakeError):
        found = "unreadable"
    if not isinstance(found, dict) or found.get("run_id") != run_id:
        state = "is unreadable" if found else "does not exist"
        raise ConfigurationError(
            f"Run {run_id} cannot be resumed: its run summary {lake.url(Layer.GOLD, key)} {state}. "
            "Check the id (a run that was killed before its summary was written cannot be "
            "resumed), and give the lake it ran on (--lake); or " + NEW_RUN + "."
        )
    return found


def _refuse_unresumable(lake: Lake, run_id: str, summary: dict[str, Any]) -> None:
    state = summary.get("state")
    if state == "completed":
        raise ConfigurationError(
            f"Run {run_id} completed: there is nothing to resume; {NEW_RUN} to run again."
        )
    if state not in ("failed", "interrupted"):
        raise ConfigurationError(
            f"Run {run_id} is {state!r}, not failed: only a failed or interrupted run can be "
            f"resumed; wait for it to end, or {NEW_RUN}."
        )
    if not isinstance(summary.get("options"), dict):
        raise ConfigurationError(
            f"Run {run_id} was recorded before runs could be resumed (its summary holds no "
            f"options), so what it read cannot be known; {NEW_RUN}."
        )
    if (later := _resumed_by(lake, run_id)) is not None:
        resumer, resumer_state = later
        if resumer_state == "completed":
            raise ConfigurationError(
                f"Run {run_id} was already resumed by run {resumer}, which completed: there "
                f"is nothing to resume; {NEW_RUN} to run again."
            )
        raise ConfigurationError(
            f"Run {run_id} was already resumed by run {resumer} ({resumer_state}): resume "
            f"that run instead (--resume {resumer})."
        )


def _resumed_by(lake: Lake, run_id: str) -> tuple[str, str] | None:
    """(run id, state) of a run that resumed `run_id`, from the lake's run summaries."""
    for key in lake.keys(Layer.GOLD, RUNS_PREFIX):
        if not key.endswith(".json") or key.endswith(f"/{run_id}.json"):
            continue
        try:
            other = json.loads(lake.read_bytes(Layer.GOLD, key))
        except (ValueError, OSError, LakeError):
            continue
        if isinstance(other, dict) and other.get("resumed_from") == run_id:
            return str(other.get("run_id")), str(other.get("state"))
    return None


def _refuse_other_options(run_id: str, stored: dict[str, Any], given: dict[str, Any]) -> None:
    """A resume reads the same inputs and writes to the same places as the run it resumes."""
    for name, value in given.items():
        if value is None or name in MAY_CHANGE_ON_RESUME:
            continue
        if str(value) != str(stored.get(name)):
            was = "not given" if stored.get(name) is None else f"{stored[name]!r}"
            raise ConfigurationError(
                f"A resume runs with the options of run {run_id}; {name}={str(value)!r} was "
                f"{was} there. Drop {name} (a resume may only change "
                f"{', '.join(MAY_CHANGE_ON_RESUME)}), or {NEW_RUN}."
            )


def _finished_stages(summary: dict[str, Any]) -> list[dict]:
    done = []
    for stage, row in zip(STAGES, summary.get("stages") or [], strict=False):
        if not isinstance(row, dict) or row.get("stage") != stage:
            break
        if row.get("status") not in FINISHED:
            break
        done.append(row)
    if len(done) == len(STAGES):  # every stage finished, yet the run failed: at its close
        raise ConfigurationError(
            f"Run {summary['run_id']} failed after its last stage finished (its audit could "
            f"not be closed): nothing is left to resume; see `cofre audit verify`, then {NEW_RUN}."
        )
    return done


def _refuse_changed_inputs(lake: Lake, plan: ResumePlan) -> None:
    """When ingestion is kept, silver will read bronze: it must hold what the run landed,
    from inputs that have not changed since."""
    if not plan.done:
        return  # ingestion runs again: it reads the inputs as they are now
    provenance = plan.facts.get("provenance") or {}
    files: dict[str, str] = provenance.get("files") or {}
    directory = (provenance.get("olist") or {}).get("dir")
    for name, recorded in sorted(files.items()):
        if directory is not None:
            path = Path(directory) / name
            current = sha256_file(path)[0] if path.is_file() else "missing"
            if current != recorded:
                raise ConfigurationError(
                    f"Run {plan.run_id} cannot be resumed: its input {path} changed since it "
                    f"ran (sha256 {recorded[:12]}…, now {current[:12]}…); {NEW_RUN}, which "
                    "reads the inputs as they are now."
                )
        valid = [m for m in list_manifests(lake, "olist", dataset_name(name)) if m.valid]
        if not valid or valid[-1].sha256 != recorded:
            newest = f"run {valid[-1].run_id}'s" if valid else "nothing"
            raise ConfigurationError(
                f"Run {plan.run_id} cannot be resumed: bronze's newest {name} is {newest}, "
                f"not the one it landed (sha256 {recorded[:12]}…); {NEW_RUN}."
            )


def _refuse_missing_outputs(lake: Lake, plan: ResumePlan) -> None:
    """What the kept stages wrote is still what later stages will read."""
    stages = [row["stage"] for row in plan.done]
    if "silver" in stages:
        writer = plan.done_in("silver")
        for dataset in sorted(plan.facts.get("quality") or {}):
            key = silver_manifest_key(dataset)
            found = _json(lake, SILVER, key)
            if found is None or found.get("run_id") != writer:
                writer_now = (found or {}).get("run_id")
                now = "is missing" if found is None else f"was rewritten by run {writer_now}"
                raise ConfigurationError(
                    f"Run {plan.run_id} cannot be resumed: silver {dataset} "
                    f"({lake.url(SILVER, key)}) {now} since run {writer} wrote it; {NEW_RUN}."
                )
    if "gold" in stages:
        version = plan.done_in("gold")
        pointer = _json(lake, Layer.GOLD, GOLD_POINTER) or {}
        manifest = f"{GOLD_VERSIONS}/{version}/{MANIFEST}"
        if pointer.get("version") != version or not lake.exists(Layer.GOLD, manifest):
            now = pointer.get("version") or "none"
            raise ConfigurationError(
                f"Run {plan.run_id} cannot be resumed: its gold version {version} is no longer "
                f"the current one (current: {now}); {NEW_RUN}."
            )


def _json(lake: Lake, layer: str, key: str) -> dict | None:
    try:
        found = json.loads(lake.read_bytes(layer, key)) if lake.exists(layer, key) else None
    except (ValueError, OSError, LakeError):
        return None
    return found if isinstance(found, dict) else None
