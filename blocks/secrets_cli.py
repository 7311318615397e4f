"""Helpers behind `cofre secrets`: collect values safely, describe saved blocks."""

from __future__ import annotations

import getpass
import os
from typing import Any

from blocks.credentials import EncryptedBlock
from blocks.errors import ConfigurationError


def collect_values(cls: type[EncryptedBlock], assignments: list[str]) -> dict[str, Any]:
    """Field values from `field=value` flags, then COFRE_SECRET_<FIELD>, then a no-echo prompt."""
    values: dict[str, Any] = {}
    for assignment in assignments:
        name, sep, value = assignment.partition("=")
        if not sep or name not in cls.model_fields or name == "key_id":
            fields = ", ".join(f for f in cls.model_fields if f != "key_id")
            raise ConfigurationError(f"--set expects field=value with a field of: {fields}")
        values[name] = value
    for name in cls._secret_fields:
        if name in values:
            continue
        from_env = os.environ.get(f"COFRE_SECRET_{name.upper()}")
        values[name] = from_env if from_env else getpass.getpass(f"{name} (not echoed): ")
        if not values[name]:
            raise ConfigurationError(f"No value given for secret field {name!r}.")
    return values


def describe_saved_blocks() -> list[dict[str, str]]:
    """One row per saved Cofre credentials block, from the server's ciphertext-only copy."""
    from blocks.rotation import saved_documents

    return [
        {
            "kind": cls._kind,
            "name": doc.name,
            "key_id": str(doc.data.get("key_id", "")),
            "updated": str(getattr(doc, "updated", "") or ""),
        }
        for cls, doc in saved_documents()
    ]
