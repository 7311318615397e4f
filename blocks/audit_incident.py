"""What a run checks of its audit trail before any work, and the incidents anchors give rise to.

`check_trail_before_run`: the key verifies the trail's last record and the chain verifies.
Read only, before any secret is read, so a wrong key stops the run with one line and writes
nothing. `check_anchors_before_run`: once the run holds its home (an S3 lake's lock needs the
lake's credentials), before any stage: the trail against every authentic anchor and the lake
mirror's copy. A problem the end-of-run anchor would refuse stops the run here instead, not
after the warehouse is loaded; a forged anchor or a damaged mirror copy is recorded as a
SECURITY_INCIDENT (`record_suspects`, once per finding) and the run goes on: its anchor writes
over it.
"""

from __future__ import annotations

import logging

from blocks import audit
from blocks.audit_anchor import Suspect, examine
from blocks.errors import AuditIntegrityError
from blocks.lake import Lake
from blocks.settings import CofreSettings

log = logging.getLogger("cofre.audit")


def record_suspects(suspects: tuple[Suspect, ...], settings: CofreSettings) -> list[str]:
    """Record each finding as a SECURITY_INCIDENT unless the trail already holds it; return a
    line per finding saying which record holds it. Never raises: the finding is the news."""
    if not suspects:
        return []
    try:
        seen = {
            _key(r["details"]): r["seq"]
            for r in audit.read_records(settings)
            if r.get("action") == audit.Action.SECURITY_INCIDENT and isinstance(r["details"], dict)
        }
    except Exception as exc:  # a broken trail: `verify` reports it; say why nothing was written
        return [f"{s.finding} (not recorded: {type(exc).__name__})" for s in suspects]
    lines = []
    for suspect in suspects:
        details = {"event": suspect.event, "where": suspect.where, "digest": suspect.digest,
                   "finding": suspect.finding}  # fmt: skip
        seq = seen.get(_key(details))
        if seq is None:
            try:
                seq = audit.record(
                    audit.Action.SECURITY_INCIDENT, suspect.where, details=details,
                    outcome="warning", settings=settings,
                )["seq"]  # fmt: skip
            except Exception as exc:
                lines.append(f"{suspect.finding} (not recorded: {type(exc).__name__}: {exc})")
                continue
            seen[_key(details)] = seq
        lines.append(f"{suspect.finding} (SECURITY_INCIDENT, audit seq {seq})")
    return lines


def _key(details: dict) -> tuple:
    return details.get("event"), details.get("where"), details.get("digest")


def check_trail_before_run(settings: CofreSettings) -> None:
    """Before a run reads a secret or writes: its key must verify the trail's last record (a
    KeyringError otherwise: a wrong key never writes), and the chain must verify."""
    audit.prove_key(settings)
    report = audit.verify(settings)
    if not report.ok:
        raise AuditIntegrityError(
            f"This run stopped before any work: the audit trail {report.path} fails at line "
            f"{report.first_bad_line} (seq {report.first_bad_seq}): {report.reason}, so the "
            "run could not be anchored. Run `cofre audit verify`; keep the file as evidence and "
            "restore it (docs/operations.md, 'A broken audit trail')."
        )


def check_anchors_before_run(settings: CofreSettings, lake: Lake) -> None:
    """The trail against its anchors and the lake mirror, before any stage. Raises
    AuditIntegrityError for what the end-of-run anchor would refuse; records the rest."""
    audit_key = audit.prove_key(settings).audit_key
    findings = examine(settings, lake, audit_key, summaries=False)
    if findings.problems:
        raise AuditIntegrityError(
            "This run stopped before any work: " + "; ".join(findings.problems) + ". Run "
            "`cofre audit verify`, then `cofre audit restore` if the lake mirror is intact "
            "(docs/operations.md, 'A broken audit trail')."
        )
    for line in record_suspects(findings.suspects, settings):
        log.warning("Audit anchor: %s", line)
