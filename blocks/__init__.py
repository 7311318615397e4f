"""Cofre's security core and connection blocks.

`prefect block register -m blocks` registers every block class exported here. The classes
load lazily (PEP 562) so `import blocks.audit` or `blocks.secrets.keyring` does not pay for Prefect.
"""

from importlib import import_module

from blocks.runtime import redaction

redaction.install()  # redact secret patterns in every log record of this process

_EXPORTS = {
    "CofreConfig": "blocks.secrets.config",
    "ApiKey": "blocks.secrets.credentials",
    "MaskingKey": "blocks.secrets.credentials",
    "PostgresCredentials": "blocks.secrets.credentials",
    "S3Credentials": "blocks.secrets.credentials",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'blocks' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
