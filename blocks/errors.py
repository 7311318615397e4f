"""Cofre's exception hierarchy.

Every error a user can meet is a `CofreError` whose message says what went wrong, where
(file, row, column, block, key) and what to do next. Messages never contain secret values.
"""

from __future__ import annotations


class CofreError(Exception):
    """Base class for every error Cofre raises on purpose."""


class ConfigurationError(CofreError):
    """A setting is missing or inconsistent."""


class LakeError(CofreError):
    """A lake operation failed."""


class ImmutableObjectError(LakeError):
    """Different bytes were written to an existing bronze key."""


class InvalidSourceData(CofreError):
    """An input file or payload is unusable (missing file or column, empty, not UTF-8, ...)."""


class MalformedCsv(InvalidSourceData):
    """A CSV's quoting breaks at a named line, so its records from there on cannot be known."""


class KeyringError(CofreError):
    """The Fernet keyring is missing, unreadable or insecure."""


class DecryptionError(CofreError):
    """A ciphertext could not be decrypted with any key of the keyring."""


class SecretNotFound(CofreError):
    """A named credentials block does not exist."""


class BlockSealBroken(CofreError):
    """A saved credentials block fails its seal or binding check (altered outside Cofre, moved
    ciphertext, or saved unsealed by an earlier version): nothing is decrypted or connected."""


class AuditIntegrityError(CofreError):
    """The audit trail's hash chain does not verify."""


class QualityGateFailed(CofreError):
    """A dataset failed its quality gate; `dataset` names it (None: more than one, or gold's
    whole gate)."""

    def __init__(self, message: str, dataset: str | None = None) -> None:
        super().__init__(message)
        self.dataset = dataset

    def __reduce__(self):  # keep `dataset` when Prefect pickles the exception
        return type(self), (str(self), self.dataset)


class SourceUnavailable(CofreError):
    """An external source could not be reached or kept failing."""


class NetworkUnreachable(SourceUnavailable):
    """A source's host could not be reached at all: connection refused, DNS failure or a
    connect timeout. `--sources auto` falls back to the bundled snapshot on this error only."""


class SourceRejected(SourceUnavailable):
    """A source answered with a client error (4xx other than 429): retrying will not help.

    `status` holds the HTTP status (401: bad API key, 404: wrong URL or series, ...)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    def __reduce__(self):  # keep `status` when Prefect pickles the exception
        return type(self), (str(self), self.status)


class WarehouseBusy(CofreError):
    """Another session held a warehouse table past the load's lock timeout. The load rolled
    back and nothing changed; the warehouse task retries it."""


class StageTimedOut(CofreError, TimeoutError):
    """A stage's task ran past its time limit (`COFRE_GOLD_TIMEOUT_SECONDS`,
    `COFRE_WAREHOUSE_TIMEOUT_SECONDS`); its Spark jobs were cancelled, nothing was published.
    A `TimeoutError` too, so Prefect records the task run as `TimedOut`."""


class WarehouseUnreachable(CofreError):
    """The warehouse's server refused or dropped the connection, or rejected its login."""


class PipelineStageFailed(CofreError):
    """A stage of the full pipeline failed; the message names the stage and the cause."""


class HomeBusy(CofreError):
    """Another run holds this COFRE_HOME (or the S3 lake's lock) past the bounded wait, or a
    run lost its S3 lease to another; the message names the holder and what to do."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) stopped a run during `stage`; the message says what was published.
    Still a `KeyboardInterrupt`: Prefect records the flow run as Crashed, and no `except
    Exception` treats it as an ordinary failure."""

    def __init__(self, stage: str, published: str = "nothing was published") -> None:
        super().__init__(f"during {stage}; {published}")
        self.stage, self.published = stage, published

    def __reduce__(self):  # keep `stage` if Prefect pickles the exception
        return type(self), (self.stage, self.published)
