"""No secret as a Prefect parameter: refuse credentials before a flow run is created.

Prefect stores every flow-run parameter in its database and shows it in the UI and REST API,
so a password in `--warehouse postgresql://u:pw@h/db` would be kept in plaintext even if the
run then refused it. Every `python -m flows.*` entry point calls `refuse_secret_parameters`
on its parsed flags before calling the flow; each flow body calls it again for runs created
through the API or a deployment (those parameters are already stored by then: the run fails
without using them). Messages name the parameter and never echo the value.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import PurePath
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from blocks.errors import ConfigurationError
from blocks.runtime.redaction import redact

_URL = re.compile(r"(?i)\b[a-z][a-z0-9+.\-]*://[^\s'\"<>]+")
_SECRET_QUERY = re.compile(
    r"(?i)^(password|passwd|pwd|sslpassword|secret|secret_?key|token|access_?token|api_?key"
    r"|appid|aws_secret_access_key|x-amz-signature|signature)$"
)
_SECRET_NAME = re.compile(r"(?i)pass(word|wd|phrase)|pwd|secret|token|api_?key|credential|private")
_SHAPES = (
    ("a Fernet token", re.compile(r"gAAAAA[A-Za-z0-9_=-]{50,}")),
    ("a PEM private key", re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")),
    (
        "an AWS access key id",
        re.compile(
            r"(?<![A-Z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}(?![A-Z0-9])"
        ),
    ),
)
_FERNET_KEY = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}=(?![A-Za-z0-9_=-])")
_AWS_SECRET = re.compile(r"[A-Za-z0-9+][A-Za-z0-9/+]{39}")

WAREHOUSE_ADVICE = (
    "Save the password encrypted with `cofre secrets set postgres NAME` and set "
    "COFRE_WAREHOUSE_BLOCK=NAME (or put it in ~/.pgpass), and pass the URL without a password."
)
S3_ADVICE = (
    "Save the S3 keys encrypted with `cofre secrets set s3 NAME` and set "
    "COFRE_S3_CREDENTIALS_BLOCK=NAME; lake URLs carry only s3://bucket[/prefix]."
)
GENERIC_ADVICE = (
    "Credentials belong in an encrypted block (`cofre secrets set KIND NAME`), never in a flag "
    "or flow parameter, which Prefect stores and shows in its UI."
)


def _advice(text: str) -> str:
    lowered = text.lower()
    if lowered.startswith(("postgres", "sqlite", "mysql")) or "postgres" in lowered:
        return WAREHOUSE_ADVICE
    if lowered.startswith(("s3://", "s3a://", "s3n://", "http://", "https://", "minio")):
        return S3_ADVICE
    return GENERIC_ADVICE


def _url_problem(text: str) -> str | None:
    for match in _URL.finditer(text):
        try:
            parts = urlsplit(match.group(0))
            password = parts.password
        except ValueError:
            return "holds a URL that cannot be parsed"
        if password:
            return "holds a password in a URL"
        if any(_SECRET_QUERY.match(key) and value for key, value in parse_qsl(parts.query)):
            return "holds a secret in a URL's query string"
    return None


def _is_fernet_key(candidate: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(candidate)) == 32
    except ValueError:
        return False


def _looks_like_aws_secret(text: str) -> bool:
    # A whole value of 40 base64 characters mixing cases and digits (a path has '-', '_', '.')
    return bool(
        _AWS_SECRET.fullmatch(text)
        and re.search(r"[A-Z]", text)
        and re.search(r"[a-z]", text)
        and re.search(r"[0-9]", text)
    )


def secret_problem(text: str) -> str | None:
    """What makes `text` look like (or carry) a secret, or None. Never includes the value."""
    if problem := _url_problem(text):
        return problem
    for what, pattern in _SHAPES:
        if pattern.search(text):
            return f"looks like {what}"
    if any(_is_fernet_key(m.group(0)) for m in _FERNET_KEY.finditer(text)):
        return "looks like a Fernet key"
    if _looks_like_aws_secret(text.strip()):
        return "looks like an AWS secret access key"
    if redact(text) != text:  # a decrypted secret of this process, or a `password=` pattern
        return "holds a value Cofre treats as secret"
    return None


def _strings(value: Any, where: str):
    """(where, text) for every string inside `value` (lists, tuples, dicts, paths)."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, PurePath):
        yield where, str(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{where}[{key!r}]")
    elif isinstance(value, list | tuple | set | frozenset):
        for position, item in enumerate(value):
            yield from _strings(item, f"{where}[{position}]")


def refuse_secret_parameters(parameters: Mapping[str, Any], *, what: str = "Parameter") -> None:
    """Raise `ConfigurationError` naming the first parameter that carries a secret.

    Checks every string (also inside lists and dicts): a password or secret in a URL, a
    Fernet token or key, an AWS key id or secret key, a PEM private key, a value registered
    for redaction; and any value at all under a name like `password` or `token`.
    """
    for name, value in parameters.items():
        if value in (None, "", False) or isinstance(value, bool | int | float | date | datetime):
            continue
        if _SECRET_NAME.search(str(name)):
            raise ConfigurationError(
                f"{what} {name!r} is named like a secret and has a value (not shown); "
                f"nothing was started. {GENERIC_ADVICE}"
            )
        for where, text in _strings(value, str(name)):
            if problem := secret_problem(text):
                raise ConfigurationError(
                    f"{what} {where!r} {problem} (the value is not shown); nothing was "
                    f"started. {_advice(text)}"
                )


def refuse_password_in_url(url: str, what: str) -> None:
    """Raise `ConfigurationError` when `url` carries a password (for URLs from env/settings)."""
    if _url_problem(url):
        raise ConfigurationError(
            f"The {what} carries a password or secret (not shown). Keep it out of URLs, flags "
            f"and env. {_advice(url)}"
        )
