"""Anchors: the audit trail's head written outside the trail, so a cut, emptied, deleted or
swapped trail fails `cofre audit verify` instead of verifying as a shorter valid chain.

An anchor is a signed `AuditHead` (blocks/audit/head.py): its MAC under the audit key proves
it is this trail's. `anchor_audit_head` writes it to the lake mirror (`audit/audit.jsonl`, a
copy of the trail to restore from, then `audit/_head.json`, blocks/audit/mirror.py) and to
Prefect (blocks/audit/server_head.py: a Variable named by home and trail id, so a new home at an
old path starts clean), and returns it for the run summary (`RunSummary.audit_head`, read back
from `gold/_runs/*.json`).

`examine` sorts what it finds into: anchors the trail contradicts (the trail is broken),
anchors that are not this trail's (no valid MAC, or another trail id: forged, never blamed on
the trail), a damaged mirror copy (cut, missing, edited: the trail is intact), and places it
could not read. Forged anchors and a damaged mirror are SECURITY_INCIDENTs
(blocks/audit/suspects.py records them once).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from blocks.audit import trail as audit
from blocks.audit.head import Anchor, AuditHead, authentic, home_fingerprint, signed, trail_id
from blocks.audit.mirror import HEAD_KEY, compare_copy, read_copy
from blocks.audit.server_head import read_prefect_anchor, variable_name, write_prefect_anchor
from blocks.audit.trail import verify
from blocks.audit.trail_file import GENESIS_HASH, LOCK_FILE, TRAIL_FILE, parse_record, trail_size
from blocks.errors import AuditIntegrityError, CofreError, KeyringError
from blocks.lake import Lake
from blocks.secrets.keyring import load_keyring
from blocks.settings import CofreSettings, load_settings
from validation.catalog import RUNS_PREFIX, Layer

__all__ = [  # the anchor's parts, importable from here as before
    "HEAD_KEY", "Anchor", "AuditHead", "home_fingerprint", "trail_id",
]  # fmt: skip

RUN_SUMMARIES = (Layer.GOLD, RUNS_PREFIX)  # where tasks/run_summary.py writes them
log = logging.getLogger("cofre.audit")


@dataclass(frozen=True)
class Suspect:
    """An anchor or mirror copy that is not to be believed: a SECURITY_INCIDENT to record."""

    event: str  # "audit_anchor_forged" or "audit_mirror_damaged"
    where: str  # the anchor's source, or the mirror copy's URL
    digest: str  # of what was found, so the same finding is recorded once
    finding: str  # the line to print


@dataclass(frozen=True)
class Findings:
    anchors: tuple[Anchor, ...]  # authentic anchors of this trail, checked
    problems: tuple[str, ...]  # the trail contradicts them, or the mirror is another trail's
    suspects: tuple[Suspect, ...]  # forged anchors, a damaged mirror copy
    unreached: tuple[str, ...]


def snapshot(settings: CofreSettings) -> bytes:
    """The trail's bytes up to its last complete append (appends only ever add after it)."""
    directory = settings.resolved_audit_dir
    path = directory / TRAIL_FILE
    size = trail_size(path, directory / LOCK_FILE)
    if not size:
        return b""
    with open(path, "rb") as handle:
        return handle.read(size)


def record_hashes(data: bytes) -> dict[int, tuple[str, str | None]]:
    """seq -> (hash, ts) of every parseable line (unverified: `verify` checks the chain)."""
    found: dict[int, tuple[str, str | None]] = {}
    for raw in data.split(b"\n"):
        record = parse_record(raw) if raw else None
        if record is not None:
            found.setdefault(record["seq"], (record["hash"], record.get("ts")))
    return found


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def current_head(settings: CofreSettings, audit_key: bytes, data: bytes, **why: Any) -> AuditHead:
    """The signed head of the trail held in `data`."""
    hashes = record_hashes(data)
    seq = max(hashes, default=0)
    digest, ts = hashes.get(seq, (GENESIS_HASH, None))
    home = home_fingerprint(settings)
    head = AuditHead(seq, digest, ts, trail_id(audit_key), home, _utc_now(), **why)
    return signed(head, audit_key)


def contradiction(
    anchor: Anchor, hashes: dict[int, tuple[str, Any]], local_id: str | None, state: str
) -> str | None:
    """Why the trail contradicts `anchor`, or None. `state` says what the trail is when empty."""
    head, where = anchor.head, f"{anchor.head.describe()} ({anchor.source})"
    if local_id is not None and head.trail_id != local_id:
        return (
            f"{where} belongs to trail id {head.trail_id}, but this keyring's audit key gives "
            f"trail id {local_id}: the keyring (and likely the trail) was replaced by another "
            "home's"
        )
    last = max(hashes, default=0)
    if head.seq > last:
        ends = f"the trail ends at seq {last}" if last else state
        return f"{ends} but {where} says seq {head.seq}: records {last + 1}..{head.seq} are missing"
    found = hashes.get(head.seq, (GENESIS_HASH, None))[0]
    if found != head.hash:
        return (
            f"record seq {head.seq} does not match {where} (hash {found[:12]}… in the trail, "
            f"{head.hash[:12]}… anchored): the trail was replaced or rewritten"
        )
    return None


def _trail_state(settings: CofreSettings) -> str:
    path = settings.resolved_audit_dir / TRAIL_FILE
    return "the trail is empty" if path.exists() else f"the trail file {path} is missing"


# -- reading the anchors ------------------------------------------------------------------------
def read_anchors(
    settings: CofreSettings,
    lake: Lake | None,
    local_id: str | None,
    *,
    prefect: bool = True,
    summaries: bool = True,
) -> tuple[list[Anchor], list[str]]:
    """Every anchor reachable, and a note for each place that could not be read."""
    anchors: list[Anchor] = []
    notes: list[str] = []
    if lake is not None:
        _read_lake_anchor(lake, Layer.AUDIT, HEAD_KEY, "lake mirror", anchors, notes)
        if summaries:
            try:
                keys = [k for k in lake.keys(*RUN_SUMMARIES) if k.endswith(".json")]
            except Exception as exc:  # an unreachable lake is reported, not fatal
                notes.append(f"run summaries: not read ({type(exc).__name__}: {str(exc)[:160]})")
                keys = []
            for key in keys:
                _read_lake_anchor(
                    lake, Layer.GOLD, key, "run summary", anchors, notes, "audit_head"
                )
    if prefect and local_id is not None:  # the variable is named by the trail: no key, no name
        name = variable_name(home_fingerprint(settings), local_id)
        value, note = read_prefect_anchor(name)
        if note:
            notes.append(note)
        elif value is not None:
            _add(anchors, notes, f"Prefect variable {name}", value, "prefect")
    return anchors, notes


def _read_lake_anchor(lake, layer, key, what, anchors, notes, field: str | None = None) -> None:
    url = lake.url(layer, key)
    try:
        if not lake.exists(layer, key):
            return
        document = json.loads(lake.read_bytes(layer, key))
    except Exception as exc:
        notes.append(f"{what} {url}: not read ({type(exc).__name__}: {str(exc)[:160]})")
        return
    value = document.get(field) if field and isinstance(document, dict) else document
    if field is None or value is not None:
        kind = "summary" if field else "mirror"
        _add(anchors, notes, f"{what} {url}", value, kind)


def _add(anchors: list[Anchor], notes: list[str], source: str, value: Any, kind: str) -> None:
    try:
        anchors.append(Anchor(source, AuditHead.from_dict(value), kind))
    except ValueError as exc:
        notes.append(f"{source}: {exc}")


# -- sorting what was found ---------------------------------------------------------------------
def examine(
    settings: CofreSettings,
    lake: Lake | None,
    audit_key: bytes,
    *,
    prefect: bool = True,
    summaries: bool = True,
    local_ok: bool = True,
) -> Findings:
    """Every reachable anchor and the mirror's copy, sorted (see the module's docstring)."""
    local_id = trail_id(audit_key)
    anchors, notes = read_anchors(settings, lake, local_id, prefect=prefect, summaries=summaries)
    copy_url, copy = None, None
    if lake is not None:
        copy_url = lake.url(Layer.AUDIT, TRAIL_FILE)
        try:
            copy = read_copy(lake)
        except Exception as exc:
            notes.append(f"lake mirror copy {copy_url}: not read ({type(exc).__name__})")
            copy_url = None
    # Read last: appends only add, so the trail is never behind an anchor written meanwhile.
    data = snapshot(settings)
    hashes, state = record_hashes(data), _trail_state(settings)
    trusted, problems, suspects, other_trails = [], [], [], set()
    mirror_head: Anchor | None = None
    for anchor in anchors:
        head = anchor.head
        if authentic(head, audit_key):
            trusted.append(anchor)
            if problem := contradiction(anchor, hashes, local_id, state):
                problems.append(problem)
            if anchor.kind == "mirror":
                mirror_head = anchor
        elif anchor.kind == "mirror" and head.trail_id != local_id:
            mirror_head = anchor  # another trail's mirror, or a forged head: the copy decides
        elif anchor.kind == "summary" and head.trail_id != local_id:
            other_trails.add(head.trail_id)  # an earlier home's run: not this trail's anchor
        elif head.mac is None and not contradiction(anchor, hashes, local_id, state):
            notes.append(f"{anchor.source}: unsigned (written by an earlier Cofre), agrees")
        else:
            suspects.append(_forged(anchor, local_id))
    if other_trails:
        notes.append(f"run summaries of other trails (ids {', '.join(sorted(other_trails))}) "
                     "were not checked: they are not this trail's anchors")  # fmt: skip
    if copy_url is not None:
        _sort_mirror(copy_url, copy, data, audit_key, mirror_head, local_ok, state,
                     problems, suspects)  # fmt: skip
    return Findings(tuple(trusted), tuple(dict.fromkeys(problems)), tuple(suspects), tuple(notes))


def _forged(anchor: Anchor, local_id: str) -> Suspect:
    head = anchor.head
    if head.mac is None:
        why = "it carries no MAC"
    elif head.trail_id != local_id:
        why = f"it names trail id {head.trail_id}, not this trail's {local_id}"
    else:
        why = "its MAC does not verify under this trail's audit key"
    finding = (
        f"{anchor.source} is not this trail's anchor ({why}): it claims seq {head.seq}, "
        f"anchored at {head.anchored_at}, and was not written by a holder of the audit key. "
        "It is ignored, and the trail is not blamed for it"
    )
    return Suspect("audit_anchor_forged", anchor.source, head.digest(), finding)


def _sort_mirror(url, copy, data, audit_key, mirror_head, local_ok, state, problems, suspects):
    """The mirror's copy against the local trail; the mirror's head when it is another id's."""
    local_id = trail_id(audit_key)
    foreign_head = mirror_head is not None and mirror_head.head.trail_id != local_id
    head_seq = None if mirror_head is None or foreign_head else mirror_head.head.seq
    verdict = compare_copy(
        url, copy, data, audit_key, head_seq=head_seq, local_ok=local_ok, state=state
    )
    foreign_copy = verdict is not None and verdict[0] == "foreign"
    if (foreign_copy and head_seq is None) or (foreign_head and copy is None):
        named = mirror_head.head.trail_id if foreign_head else "unknown"
        evidence = "its copy is missing" if copy is None else "no record of its copy verifies"
        problems.append(
            f"the lake mirror {url.rsplit('/', 1)[0]} belongs to trail id {named}, not to this "
            f"keyring's trail id {local_id} ({evidence} with this audit key): the keyring (and "
            "likely the trail) was replaced by another home's, or this lake is another home's"
        )
        return
    if foreign_copy:  # under this trail's authentic head: the copy alone was replaced
        verdict = ("damaged", f"the lake mirror's copy of the trail {url} is another trail's: "
                              f"{verdict[1]}")  # fmt: skip
    if foreign_head:
        suspects.append(_forged(mirror_head, local_id))
    if verdict is None:
        return
    kind, why = verdict
    if kind == "broken":
        problems.append(why)
    else:
        digest = hashlib.sha256(copy).hexdigest()[:16] if copy else "missing"
        suspects.append(Suspect("audit_mirror_damaged", url, digest, why))


# -- writing the anchors ------------------------------------------------------------------------
def anchor_audit_head(
    lake: Lake, *, run_id: str | None, reason: str, settings: CofreSettings | None = None
) -> AuditHead:
    """Write the trail's signed head to the lake mirror and Prefect; return it.

    Refuses (AuditIntegrityError) to anchor a trail whose chain fails or that contradicts an
    authentic anchor: a cut or swapped trail is never blessed by a new anchor. A forged anchor
    or a damaged mirror copy is recorded as a SECURITY_INCIDENT, then written over. Raises the
    lake's errors when the mirror cannot be written; a Prefect failure is only a warning.
    """
    from blocks.audit.suspects import record_suspects

    settings = settings or load_settings()
    audit_key = audit.prove_key(settings).audit_key
    report = verify(settings)
    if not report.ok:
        raise AuditIntegrityError(
            f"Refusing to anchor the audit trail {report.path}: it fails at line "
            f"{report.first_bad_line} (seq {report.first_bad_seq}): {report.reason}. See "
            "docs/operations.md, 'A broken audit trail'."
        )
    findings = examine(settings, lake, audit_key, summaries=False)
    if findings.problems:
        raise AuditIntegrityError(
            f"Refusing to anchor the audit trail: {findings.problems[0]}. Run `cofre audit "
            "verify`, and `cofre audit restore` if the lake mirror is intact."
        )
    for line in record_suspects(findings.suspects, settings):
        log.warning("%s", line)
    data = snapshot(settings)  # after any incident recorded above: the head includes it
    head = current_head(settings, audit_key, data, run_id=run_id, reason=reason)
    lake.write_bytes(Layer.AUDIT, TRAIL_FILE, data)  # the copy first: the head never leads it
    lake.write_bytes(Layer.AUDIT, HEAD_KEY, json.dumps(head.as_dict(), indent=2).encode())
    if warning := write_prefect_anchor(head.as_dict(), _markdown(head)):
        log.warning("Audit head seq %s anchored in the lake only. %s", head.seq, warning)
    return head


def _markdown(head: AuditHead) -> str:
    rows = "\n".join(f"| {name} | `{value}` |" for name, value in head.as_dict().items())
    return f"# Audit trail head\n\n| field | value |\n|---|---|\n{rows}"


# -- verifying ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class AnchoredReport:
    """The chain's own report, the anchors checked, what contradicts them, what is forged or
    damaged, and what was unreached."""

    chain: Any  # blocks.audit.verification.VerifyReport
    anchors: tuple[Anchor, ...]
    problems: tuple[str, ...]
    unreached: tuple[str, ...]
    suspects: tuple[Suspect, ...] = ()

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.problems and not self.suspects


def verify_anchored(
    settings: CofreSettings | None = None, *, lake: Lake | None = None, prefect: bool = True
) -> AnchoredReport:
    """The chain check plus every reachable anchor (lake mirror and its copy, Prefect, run
    summaries). Records nothing (blocks/audit/suspects.py does).

    Raises KeyringError when the trail has records, or the lake holds anchors, but the keyring
    is missing or corrupt (nothing can be checked without the audit key).
    """
    settings = settings or load_settings()
    chain = verify(settings)
    notes: list[str] = []
    if lake is None:
        try:
            lake = Lake.from_settings(settings)
        except (CofreError, OSError) as exc:
            notes.append(f"lake: not reached ({str(exc)[:200]})")
    try:
        audit_key = load_keyring(settings).audit_key
    except KeyringError:
        anchors, _ = read_anchors(settings, lake, None, prefect=False)
        if anchors:
            raise  # anchors say this home was used: without its key nothing can be checked
        return AnchoredReport(chain, (), (), (*notes, "no keyring: no anchor to check"))
    found = examine(settings, lake, audit_key, prefect=prefect, local_ok=chain.ok)
    return AnchoredReport(
        chain, found.anchors, found.problems, (*notes, *found.unreached), found.suspects
    )
