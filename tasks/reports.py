"""What a stage tells the run about itself: one `StageReport` per stage run.

Every stage (ingestion, silver, gold, warehouse) returns the same shape, so the run summary,
its artifacts and the dashboard read named fields instead of each stage's own dict. A stage
flow returns `report.as_flow_result()`: its own facts (`payload`, the keys its callers have
always read) plus the report under `"report"`; `StageReport.from_flow_result` reads it back.
Standard library only: the dashboard reads run summaries without Prefect.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

REPORT_KEY = "report"


@dataclass
class StageReport:
    stage: str  # ingestion | silver | gold | warehouse
    rows_in: int = 0
    rows_out: int = 0
    quarantined: int = 0
    objects: list[str] = field(default_factory=list)  # lake objects this run wrote
    note: str = ""  # one line for the run summary's table
    # The facts this stage adds to the run summary, by `RunSummary` field name
    # (e.g. silver's gate results as `quality`, the warehouse's `gold_version`).
    run_facts: dict[str, Any] = field(default_factory=dict)
    # The stage's own result, as its flow returns it (e.g. gold's rows per table).
    payload: dict[str, Any] = field(default_factory=dict)

    def as_flow_result(self) -> dict[str, Any]:
        """The stage flow's return value: the payload's keys, and this report."""
        core = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "payload"}
        return {**self.payload, REPORT_KEY: core}

    @classmethod
    def from_flow_result(cls, result: dict[str, Any]) -> StageReport:
        """The report a stage flow returned (see `as_flow_result`)."""
        payload = {key: value for key, value in result.items() if key != REPORT_KEY}
        return cls(**result[REPORT_KEY], payload=payload)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
