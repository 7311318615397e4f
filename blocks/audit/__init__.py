"""The audit trail's room: the trail itself (`trail`), its file, its verification, and the
anchors that hold its head outside it. `from blocks import audit` is the public face: its
names load `trail` on first use (PEP 562), so importing a sibling does not run the trail."""

from importlib import import_module

__all__ = [
    "FIELDS", "LOCK_FILE", "TRAIL_FILE", "Action", "AuditTrail", "Compliance", "Outcome",
    "VerifyReport", "hmac_identifier", "prove_key", "read_records", "record", "verify",
    "verify_or_raise",
]  # fmt: skip


def __getattr__(name: str):
    if name in __all__:
        return getattr(import_module("blocks.audit.trail"), name)
    raise AttributeError(f"module 'blocks.audit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
