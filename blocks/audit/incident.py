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

from blocks.audit import trail as audit
from blocks.audit.anchor import examine
from blocks.audit.suspects import record_suspects
from blocks.errors import AuditIntegrityError
from blocks.lake import Lake
from blocks.settings import CofreSettings

log = logging.getLogger("cofre.audit")


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
