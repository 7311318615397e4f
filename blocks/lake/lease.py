"""A leased lock object on an S3 lake: one writer per lake across machines.

The object (`<lake root>/_cofre_lock.json`) is created with a conditional PUT
(`If-None-Match: *`), so of two runs racing for it exactly one succeeds. It holds the holder
record and its lease length; the holder renews it (a PUT conditional on its own ETag) from a
background thread. A run that finds the object waits; once the lease has gone unrenewed for
longer than its length (a dead holder) it takes the lock over with a PUT conditional on the
ETag it read, so two runs taking over the same dead lease cannot both win. Lease age is the
server's clock against the object's LastModified: no trust in either machine's clock.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from blocks.errors import HomeBusy, LakeError
from validation.catalog import Layer

LOCK_KEY = "_cofre_lock.json"
DEFAULT_LEASE_SECONDS = 60.0
_RETRY_CODES = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}


def run_log() -> logging.Logger | logging.LoggerAdapter:
    """The Prefect run's logger inside a run (the UI shows why a run waited), else plain."""
    try:
        from prefect.logging import get_run_logger

        return get_run_logger()
    except Exception:  # no active run (MissingContextError), or Prefect not importable
        return logging.getLogger("cofre.home_lock")


def lock_location(lake: Any) -> tuple[str, str]:
    """(bucket, key) of the lock object: beside the layers (`bucket/prefix/_cofre_lock.json`),
    or at the root of the bronze bucket when each layer has its own bucket."""
    root = lake.roots[Layer.BRONZE].strip("/")
    parent = root.rsplit("/", 1)[0] if "/" in root else root
    bucket, _, prefix = parent.partition("/")
    return bucket, f"{prefix}/{LOCK_KEY}" if prefix else LOCK_KEY


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    error = response.get("Error", {})
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return str(error.get("Code") or status or "")


@dataclass
class S3Lease:
    """The lease on one lock object. `holder` is the JSON-able holder record (no secrets)."""

    client: Any
    bucket: str
    key: str
    holder: dict[str, Any]
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    put_options: dict[str, Any] = field(default_factory=dict)  # e.g. ServerSideEncryption
    etag: str | None = None
    lost: bool = False
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def _body(self) -> bytes:
        record = {
            **self.holder,
            "lease_seconds": self.lease_seconds,
            "renewed": datetime.now(UTC).isoformat(timespec="microseconds"),
            "token": self.token,
        }
        return json.dumps(record, sort_keys=True).encode()

    def _put(self, **condition: str) -> str:
        response = self.client.put_object(
            Bucket=self.bucket,
            Key=self.key,
            Body=self._body(),
            ContentType="application/json",
            **self.put_options,
            **condition,
        )
        return response["ETag"]

    def read(self) -> tuple[dict[str, Any], str, float] | None:
        """(record, ETag, seconds since its last renewal by the server's clock), or None."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key)
        except Exception as exc:
            if _code(exc) in {"NoSuchKey", "404"}:
                return None
            raise LakeError(f"Cannot read the lake lock {self.url}: {_code(exc)}.") from exc
        try:
            record = json.loads(response["Body"].read())
        except ValueError:
            record = {}  # unreadable: treated as a holder without a name; its lease still ages
        server_now = parsedate_to_datetime(response["ResponseMetadata"]["HTTPHeaders"]["date"])
        age = (server_now - response["LastModified"]).total_seconds()
        return record, response["ETag"], age

    def acquire(self, deadline: float, poll_seconds: float = 0.25) -> dict[str, Any] | None:
        """Take the lock before `deadline` (time.monotonic), else raise HomeBusy.

        Returns the record of a dead holder whose expired lease was taken over, else None."""
        announced = False
        while True:
            try:
                self.etag = self._put(IfNoneMatch="*")
                break
            except Exception as exc:
                if _code(exc) not in _RETRY_CODES:
                    raise LakeError(
                        f"Cannot create the lake lock {self.url}: {_code(exc) or exc}. Check "
                        "the S3 credentials and that the store supports conditional writes."
                    ) from exc
            current = self.read()
            if current is None:
                continue  # released between our PUT and our GET: try to create it again
            record, etag, age = current
            if age > float(record.get("lease_seconds") or self.lease_seconds):
                try:
                    self.etag = self._put(IfMatch=etag)
                except Exception as exc:
                    if _code(exc) not in _RETRY_CODES:
                        raise LakeError(f"Cannot take over {self.url}: {_code(exc)}.") from exc
                    continue  # another run renewed or took it over first
                self._start_renewing()
                return {k: record.get(k) for k in ("run_id", "started", "host", "pid", "command")}
            if time.monotonic() >= deadline:
                raise HomeBusy(
                    f"The lake lock {self.url} is held by {describe(record)}, its lease "
                    f"renewed {age:.0f} s ago. Wait for that run to finish, or check that "
                    f"process (pid {record.get('pid')} on {record.get('host')}); a dead "
                    "holder's lease expires and is taken over. Raise COFRE_LOCK_WAIT_SECONDS to "
                    "wait longer."
                )
            if not announced:
                run_log().warning(
                    "Waiting for the lake lock %s held by %s", self.url, describe(record)
                )
                announced = True
            time.sleep(poll_seconds)
        self._start_renewing()
        return None

    def _start_renewing(self) -> None:
        self._thread = threading.Thread(
            target=self._renew_loop, name="cofre-lake-lease", daemon=True
        )
        self._thread.start()

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            try:
                self.etag = self._put(IfMatch=self.etag or "")
            except Exception as exc:
                if _code(exc) in _RETRY_CODES:
                    self.lost = True  # someone took the lock over: our lease had lapsed
                    run_log().error("Lost the lake lock %s to another run.", self.url)
                    return
                run_log().warning("Could not renew the lake lock %s (%s); retrying.", self.url, exc)

    def release(self) -> None:
        """Stop renewing and delete the lock object, only if it is still ours."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self.lost or self.etag is None:
            return
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=self.etag)
        except Exception as exc:
            if _code(exc) in _RETRY_CODES:
                self.lost = True
                return
            # A store without conditional deletes: delete only after checking it is ours.
            current = self.read()
            if current is not None and current[0].get("token") == self.token:
                self.client.delete_object(Bucket=self.bucket, Key=self.key)


def describe(record: dict[str, Any]) -> str:
    """'run <id> (<command>, pid N on host H, started T)' from a holder record."""
    if not record.get("run_id"):
        return "an unnamed holder (no readable holder record)"
    return (
        f"run {record.get('run_id')} ({record.get('command')}, pid {record.get('pid')} on "
        f"host {record.get('host')}, started {record.get('started')})"
    )
