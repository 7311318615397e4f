"""The lake's room: one interface over a local directory or an S3 bucket (`store`), hashing
and copying local files (`files`), the lease that keeps one writer per S3 lake (`lease`) and
the home lock (`home_lock`). `from blocks.lake import Lake` is the public face: its names load
their module on first use (PEP 562)."""

from importlib import import_module

__all__ = ["Lake", "LakeObject", "sha256_bytes", "sha256_file"]
_FILES = ("sha256_bytes", "sha256_file")


def __getattr__(name: str):
    if name in __all__:
        module = "blocks.lake.files" if name in _FILES else "blocks.lake.store"
        return getattr(import_module(module), name)
    raise AttributeError(f"module 'blocks.lake' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
