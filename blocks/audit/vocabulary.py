"""The audit trail's closed vocabularies: what an action, an outcome or a compliance value
may be. `blocks.audit.trail.record` refuses anything else."""

from __future__ import annotations

from enum import StrEnum


class Action(StrEnum):
    SECRET_READ = "SECRET_READ"  # noqa: S105 - an action name, not a password
    SECRET_WRITE = "SECRET_WRITE"  # noqa: S105
    KEY_ROTATED = "KEY_ROTATED"
    KEY_RETIRED = "KEY_RETIRED"
    LAKE_WRITE = "LAKE_WRITE"
    LAKE_MOVE = "LAKE_MOVE"
    MASKING_APPLIED = "MASKING_APPLIED"
    VALIDATION_PASSED = "VALIDATION_PASSED"
    VALIDATION_FAILED = "VALIDATION_FAILED"
    QUARANTINE = "QUARANTINE"
    WAREHOUSE_LOAD = "WAREHOUSE_LOAD"
    SECURITY_INCIDENT = "SECURITY_INCIDENT"
    SOURCE_FALLBACK = "SOURCE_FALLBACK"
    PIPELINE_RUN = "PIPELINE_RUN"
    INPUT_PROVENANCE = "INPUT_PROVENANCE"  # where a run's inputs came from, who asked


class Compliance(StrEnum):
    LGPD_OK = "LGPD_OK"
    LGPD_NA = "LGPD_NA"
    LGPD_WARNING = "LGPD_WARNING"
    LGPD_VIOLATION = "LGPD_VIOLATION"
    LGPD_PSEUDONYMIZED = "LGPD_PSEUDONYMIZED"
    LGPD_ANONYMIZED = "LGPD_ANONYMIZED"
    LGPD_PROCESSED = "LGPD_PROCESSED"


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    WARNING = "warning"
