"""Secret hygiene for logs: redact every decrypted value and known secret patterns.

Two layers, because a filter on a logger does not see records its children propagate:
`install()` wraps the log record factory (every record in the process, whatever logger or
handler) and also adds `RedactingFilter` to the handlers of the root and Prefect loggers.
"""

from __future__ import annotations

import logging
import re
import threading

MASK = "***"
_MIN_SECRET_LENGTH = 4  # shorter values would redact ordinary words
URL_PASSWORD = re.compile(r"(://[^/\s:@]+:)[^@/\s]+(@)")  # user:password@host in URLs
_PATTERNS = (
    re.compile(r"(?i)(appid=)[^&\s'\"]+"),
    re.compile(r"(?i)(api[_-]?key=)[^&\s'\"]+"),
    re.compile(r"(?i)((?:password|passwd|pwd|secret|token)\s*[=:]\s*)[^&\s'\",;]+"),
    URL_PASSWORD,
)

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def register_secret(value: str | None) -> None:
    """Remember a decrypted value so it is redacted wherever it would be logged."""
    install()
    if value and len(value) >= _MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """`text` with every registered secret and known secret pattern replaced by ***."""
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(_keep_prefix, text)
    return text


def mask_url_password(text: str) -> str:
    """`text` with the password of every `scheme://user:password@host` replaced by ***."""
    return URL_PASSWORD.sub(_keep_prefix, text)


def _keep_prefix(match: re.Match[str]) -> str:
    suffix = match.group(2) if match.re.groups >= 2 else ""
    return f"{match.group(1)}{MASK}{suffix}"


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (and traceback text) with secrets redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


def _redact_record(record: logging.LogRecord) -> None:
    if getattr(record, "_cofre_redacted", False):
        return
    try:
        message = record.getMessage()
    except Exception:  # a bad format string must not break logging
        message = str(record.msg)
    record.msg, record.args = redact(message), ()
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    record._cofre_redacted = True


def install() -> None:
    """Redact every log record created in this process from now on (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    base_factory = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = base_factory(*args, **kwargs)
        _redact_record(record)
        return record

    logging.setLogRecordFactory(factory)
    redacting = RedactingFilter()
    for name in ("", "prefect", "prefect.flow_runs", "prefect.task_runs"):
        logger = logging.getLogger(name)
        logger.addFilter(redacting)
        for handler in logger.handlers:
            handler.addFilter(redacting)
