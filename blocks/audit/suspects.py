"""Recording what the anchors' examination found: each forged anchor or damaged mirror copy
becomes one SECURITY_INCIDENT (never twice for the same finding). Apart from blocks/
audit_anchor.py, which calls it when it writes the anchors, so neither imports the other's
callers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from blocks.audit import trail as audit
from blocks.settings import CofreSettings

if TYPE_CHECKING:
    from blocks.audit.anchor import Suspect


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
