"""A robust HTTP GET for external sources: timeouts, retries with backoff and jitter, and
errors that say which source failed and how.

- Connect and read timeouts on every request.
- Retries, with exponential backoff and jitter, on connection errors, timeouts, 429 (honouring
  `Retry-After`, capped) and 5xx. Other 4xx are not retried: they raise `SourceRejected`.
- After the last retry: `NetworkUnreachable` when the host could not be reached at all
  (connection refused, DNS failure, connect timeout; `--sources auto` falls back to the
  snapshot on this error only), else `SourceUnavailable` naming the source and last status.
- URLs are logged and put in messages with secret query parameters (`appid`, ...) masked, and
  through `blocks.runtime.redaction.redact`; library exceptions, which embed the full URL, are never
  chained into ours.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
import urllib3.exceptions

from blocks.errors import NetworkUnreachable, SourceRejected, SourceUnavailable
from blocks.runtime.redaction import MASK, redact
from blocks.settings import CofreSettings
from tasks.runlog import run_logger

SECRET_PARAMS = frozenset({"appid", "api_key", "apikey", "key", "token"})
USER_AGENT = "cofre-pipeline/0.1 (+https://github.com/cofre)"


@dataclass(frozen=True)
class HttpPolicy:
    """Timeouts and retry schedule. Delay before retry n (0-based) is
    `min(backoff_max, backoff_base * 2**n)` stretched by up to `jitter` (a fraction), or the
    server's `Retry-After` (at most `retry_after_max`) when it sent one."""

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retries: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    jitter: float = 0.5
    retry_after_max: float = 60.0

    @classmethod
    def from_settings(cls, settings: CofreSettings) -> HttpPolicy:
        return cls(
            connect_timeout=settings.http_connect_timeout_seconds,
            read_timeout=settings.http_read_timeout_seconds,
            retries=settings.http_retries,
            backoff_base=settings.http_backoff_seconds,
            backoff_max=settings.http_backoff_max_seconds,
        )

    def backoff(self, retry: int, rng: random.Random) -> float:
        delay = min(self.backoff_max, self.backoff_base * 2**retry)
        return min(self.backoff_max, delay * (1 + rng.uniform(0, self.jitter)))


@dataclass(frozen=True)
class HttpResult:
    """A successful (2xx) response: its body exactly as received."""

    url: str  # secret parameters masked: safe to log, store and show
    status: int
    content: bytes
    attempts: int
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Failure:
    """One failed attempt: what happened, and whether it may be retried."""

    description: str
    status: int | None = None
    retryable: bool = True
    unreachable: bool = False
    retry_after: float | None = None


class HttpGetter:
    """GETs for one source over one `requests.Session` (connection reuse across requests).

    `sleep` and `rng` are injectable so tests run the real retry schedule without waiting.
    """

    def __init__(
        self,
        source: str,
        policy: HttpPolicy | None = None,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.source = source
        self.policy = policy or HttpPolicy()
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)
        self._sleep = sleep
        self._rng = rng or random.Random()

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> HttpGetter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def get(self, url: str, params: Mapping[str, Any] | None = None) -> HttpResult:
        """GET `url` with `params`; the body of the first 2xx response.

        Raises `SourceRejected` on a 4xx other than 429 (no retry), `NetworkUnreachable` when
        the last attempt could not connect at all, `SourceUnavailable` otherwise once the
        retries are spent. Messages name the source, the safe URL and the last status.
        """
        params = dict(params or {})
        shown = safe_url(url, params)
        log = run_logger(__name__)
        attempts = self.policy.retries + 1
        for attempt in range(1, attempts + 1):
            outcome = self._attempt(url, params)
            if isinstance(outcome, requests.Response):
                if attempt > 1:
                    log.info("%s: GET %s succeeded on attempt %d", self.source, shown, attempt)
                status, headers = outcome.status_code, dict(outcome.headers)
                return HttpResult(shown, status, outcome.content, attempt, headers)
            if not outcome.retryable:
                raise _final_error(self.source, shown, outcome, attempt)
            if attempt == attempts:
                break
            delay = self._delay(attempt - 1, outcome)
            log.warning(
                "%s: GET %s failed (%s), attempt %d of %d; retrying in %.2f s",
                self.source,
                shown,
                outcome.description,
                attempt,
                attempts,
                delay,
            )
            self._sleep(delay)
        raise _final_error(self.source, shown, outcome, attempts)

    def _attempt(self, url: str, params: dict[str, Any]) -> requests.Response | _Failure:
        """The 2xx response, or what went wrong."""
        timeout = (self.policy.connect_timeout, self.policy.read_timeout)
        try:
            response = self.session.get(url, params=params, timeout=timeout)
        except requests.RequestException as exc:
            return _classify_exception(exc)
        status = response.status_code
        if 200 <= status < 300:
            return response
        description = f"HTTP {status}{_body_hint(response.content)}"
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return _Failure(description, status, retry_after=retry_after)
        return _Failure(description, status, retryable=status >= 500)

    def _delay(self, retry: int, failure: _Failure) -> float:
        if failure.retry_after is not None:
            return min(failure.retry_after, self.policy.retry_after_max)
        return self.policy.backoff(retry, self._rng)


def safe_url(url: str, params: Mapping[str, Any] | None = None) -> str:
    """`url?params` with secret parameters masked and registered secrets redacted."""
    shown = {k: (MASK if k.lower() in SECRET_PARAMS else v) for k, v in (params or {}).items()}
    query = urlencode(shown, safe="/*,:")
    return redact(f"{url}?{query}" if query else url)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _classify_exception(exc: requests.RequestException) -> _Failure:
    if isinstance(exc, requests.exceptions.SSLError):
        return _Failure("TLS error (certificate or protocol)", retryable=False)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return _Failure("connect timeout", unreachable=True)
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return _Failure("read timeout")
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = _root_reason(exc)
        if isinstance(reason, urllib3.exceptions.NameResolutionError):
            return _Failure("DNS lookup failed", unreachable=True)
        if isinstance(reason, urllib3.exceptions.NewConnectionError):
            return _Failure(f"cannot connect ({_os_error(reason)})", unreachable=True)
        if isinstance(reason, urllib3.exceptions.ConnectTimeoutError):
            return _Failure("connect timeout", unreachable=True)
        return _Failure("connection dropped")
    return _Failure(type(exc).__name__)


def _root_reason(exc: BaseException) -> BaseException | None:
    """The urllib3 error behind a requests ConnectionError (MaxRetryError.reason)."""
    inner = exc.args[0] if exc.args else None
    return getattr(inner, "reason", inner) if isinstance(inner, BaseException) else None


def _os_error(error: BaseException) -> str:
    cause = error.__cause__ or error.__context__
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror.lower()
    return "connection failed"


def _body_hint(content: bytes) -> str:
    text = content[:120].decode("utf-8", "replace").strip()
    if not text:
        return ""
    return f": {redact(' '.join(text.split()))[:80]!r}"


def _final_error(source: str, url: str, failure: _Failure, attempts: int) -> SourceUnavailable:
    tried = f"after {attempts} attempt{'s' if attempts > 1 else ''}"
    if not failure.retryable and failure.status is not None:
        hint = {
            401: " Check the API key (`cofre secrets set api-key <name>`).",
            403: " The key lacks access to this endpoint.",
            404: " Check the base URL setting for this source.",
        }.get(failure.status, "")
        return SourceRejected(
            f"{source}: GET {url} was rejected with HTTP {failure.status} "
            f"({failure.description}); not retried.{hint}",
            failure.status,
        )
    if failure.unreachable:
        error = NetworkUnreachable(
            f"{source}: cannot reach {url} {tried} (last error: {failure.description}). "
            "Check the network, or run with --sources snapshot to use the bundled payloads."
        )
        error.reason = f"cannot reach {urlsplit(url).netloc} ({failure.description}, {tried})"
        return error
    last = "last status" if failure.status else "last error (no HTTP status)"
    return SourceUnavailable(
        f"{source}: GET {url} kept failing {tried}; {last}: {failure.description}. "
        "Try again later; the source may be down."
    )
