"""Keep secrets out of everything statusd writes: Redis, logs and API answers.

Every credential is read through `read_secret`, which remembers its value. `scrub`
then removes remembered values, URL query strings (`?key=...`) and URL passwords
from any text. The collector scrubs every reason before it is stored, and the
log formatter installed by the entry points scrubs every line, tracebacks too.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping

from shared.keys import PREFIX

MASK = "***"

# Values shorter than this are not treated as secrets: masking "1" or "ab" everywhere
# would garble every message while protecting nothing.
MIN_SECRET_LENGTH = 6

# A query string after any URL or bare path ("with url: /v1/models?key=...").
_QUERY = re.compile(r"(/[^\s?#'\"<>]*)\?[^\s#'\"<>]+")
_USERINFO = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@'\"<>]*):[^\s@/'\"<>]*@")
# Credentials that travel in text even when we never read them ourselves.
# A name may carry a prefix (`x-goog-api-key`, `refresh_token`, `db_password`), but
# bare `key` may not, or "monkey: banana" would be masked. Our own Redis keys, which
# log lines give as `key=statusd:...`, are no secret and stay readable.
_INLINE = re.compile(
    r"(?i)\b(authorization|[\w-]*api[-_]?key|[\w-]*token|[\w-]*secret"
    r"|[\w-]*passw(?:or)?d|key)"
    r"(['\"]?\s*[:=]\s*['\"]?)((?:bearer|basic|token)\s+)?"
    rf"(?!{PREFIX}:)[^\s'\",;&]+"
)

_lock = threading.Lock()
_secrets: set[str] = set()


def remember(value: str | None) -> None:
    """Treat `value` as a secret from now on."""
    if value and len(value) >= MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(value)


def read_secret(environ: Mapping[str, str], name: str) -> str | None:
    """Read a credential from the environment and remember it; None when unset."""
    value = environ.get(name) or None
    remember(value)
    return value


def scrub(text: str) -> str:
    """Return `text` without remembered secrets, URL query strings or passwords."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _QUERY.sub(r"\1?" + MASK, text)
    text = _USERINFO.sub(r"\1:" + MASK + "@", text)
    return _INLINE.sub(lambda m: f"{m[1]}{m[2]}{m[3] or ''}{MASK}", text)


class RedactingFormatter(logging.Formatter):
    """A log formatter whose every line, traceback included, goes through `scrub`."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))
