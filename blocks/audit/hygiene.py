"""What goes into an audit record: no secrets, plain JSON, known enum values.

`refuse_secrets` rejects a detail named like a secret whose value is not masked, and anything
shaped like key material (a Fernet key or token, a PEM private key), without echoing it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any
from uuid import UUID

_SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)|pwd|secret|token|api_?key|app_?id|credential|authorization|cookie"
    r"|private_?key|access_?key|signing_?key|hmac_?key|audit_?key|fernet|master_?key"
    r"|encryption_?key|^keys?$"
)
# A name ending like this describes a secret (which one, how many) without holding it.
_METADATA_SUFFIX = re.compile(r"_(ids?|names?|blocks?|fields?|count|fingerprints?|version)$")
_MASKED = re.compile(r"[^*]{0,4}\*{3,}[^*]{0,4}")
_KEY_MATERIAL = re.compile(
    r"[A-Za-z0-9_-]{43}=|gAAAAA[A-Za-z0-9_=-]{40,}|.*PRIVATE KEY-----.*", re.S
)


def _looks_secret(name: object) -> bool:
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name))
    normal = re.sub(r"[^a-z0-9]+", "_", snake.lower()).strip("_")
    return bool(_SECRET_NAME.search(normal)) and not _METADATA_SUFFIX.search(normal)


def refuse_secrets(value: Any, where: str, secret_named: bool = False) -> None:
    """Raise ValueError naming the offending detail; the value itself is never shown."""
    if isinstance(value, Mapping):
        for name, item in value.items():
            refuse_secrets(item, f"{where}[{name!r}]", secret_named or _looks_secret(name))
    elif isinstance(value, list | tuple | set | frozenset):
        for position, item in enumerate(value):
            refuse_secrets(item, f"{where}[{position}]", secret_named)
    elif isinstance(value, str) and _KEY_MATERIAL.fullmatch(value):
        raise ValueError(
            f"Audit {where} holds what looks like key material; never audit keys "
            "or tokens: record the key id (blocks.secrets.keyring.key_id) instead."
        )
    elif secret_named and not _harmless(value):
        raise ValueError(
            f"Audit {where} is named like a secret but its value is not masked (the value "
            "is not shown). Record '***' or hmac_identifier(value) instead, or rename the "
            "detail if it holds no secret."
        )


def _harmless(value: Any) -> bool:
    """None, a flag, or an already masked string ('***', 'sk-***') carries no secret."""
    masked = isinstance(value, str) and _MASKED.fullmatch(value) is not None
    return value is None or isinstance(value, bool) or masked


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path | UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"a {type(value).__name__} value is not JSON")


def normalised_details(details: Mapping[str, Any] | None) -> dict[str, Any]:
    """Details exactly as they will read back from the JSON line (so the HMAC matches)."""
    if details is None:
        return {}
    if not isinstance(details, Mapping):
        raise ValueError(f"Audit details must be a dict, not {type(details).__name__}.")
    refuse_secrets(details, "details")
    try:
        return json.loads(json.dumps(dict(details), default=_jsonable, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"Audit details must be plain JSON (str, numbers, bools, None, lists, "
            f"dicts, paths, dates): {exc}."
        ) from None


def choice(kind: type[StrEnum], value: object, what: str) -> str:
    try:
        return kind(value).value
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise ValueError(
            f"Unknown audit {what} {str(value)[:60]!r}; use one of: {allowed}."
        ) from None
