"""Log a repeated problem once, not on every request that meets it.

Bad data stays in Redis until its next probe and is read at every poll of every
widget, in every worker: one line per request would drown the log. What has been
logged is kept in a bounded set, since a problem's text may quote the value; once
full it starts afresh, so a lasting problem is still logged now and then. A race
between threads costs at most a repeated line.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Hashable

MAX_REMEMBERED = 256

_seen: set[Hashable] = set()
_lock = threading.Lock()


def first_time(problem: Hashable) -> bool:
    """True the first time `problem` is met (and again after the set was renewed)."""
    with _lock:
        if problem in _seen:
            return False
        if len(_seen) >= MAX_REMEMBERED:
            _seen.clear()
        _seen.add(problem)
        return True


def warn_once(
    logger: logging.Logger, problem: Hashable, message: str, *args: object
) -> None:
    if first_time(problem):
        logger.warning(message, *args)


def forget() -> None:
    """Start afresh; for tests."""
    with _lock:
        _seen.clear()
