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
from urllib.parse import unquote

from shared.keys import PREFIX

MASK = "***"

# Values shorter than this are not treated as secrets: masking "1" or "ab" everywhere
# would garble every message while protecting nothing.
MIN_SECRET_LENGTH = 6

# A query string after any URL or bare path ("with url: /v1/models?key=...").
_QUERY = re.compile(r"(/[^\s?#'\"<>]*)\?[^\s#'\"<>]+")
# A remembered value that is a URL, whose password is remembered on its own too.
_URL_START = re.compile(r"\s*[a-zA-Z][a-zA-Z0-9+.-]*://")
# The password runs to the last `@` before the host: it may hold an unescaped `@`.
_USERINFO = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@'\"<>]*):[^\s/'\"<>]*@")
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
    """Treat `value` as a secret from now on, and a URL's password in it too."""
    if not value:
        return
    found = {value, *url_password_pieces(value)}
    with _lock:
        _secrets.update(item for item in found if len(item) >= MIN_SECRET_LENGTH)


def url_password_pieces(value: str) -> set[str]:
    """The password of a URL with userinfo, and each `@`/`:`-separated piece of it.

    A password holding an unescaped `@` is split by drivers at its first `@`, and
    the rest is shown as part of the host name ("pw123456@127.0.0.1"): the piece
    must be masked on its own. The userinfo ends at the last `@` before the host,
    which ends at the first `/` after the first `@` (a path may hold `@` too).
    """
    match = _URL_START.match(value)
    if match is None:
        return set()
    rest = value[match.end() :].split("?", 1)[0].split("#", 1)[0]
    first_at = rest.find("@")
    if first_at < 0:
        return set()
    slash = rest.find("/", first_at)
    authority = rest if slash < 0 else rest[:slash]
    _, colon, password = authority[: authority.rindex("@")].partition(":")
    if not colon or not password:
        return set()
    return {password, unquote(password), *re.split(r"[@:]", password)}


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
