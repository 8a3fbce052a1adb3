"""Record probe results: into Redis, into the log when a status changes, and in memory.

The in-memory copy is what makes a Redis restart harmless: when Redis comes back
(or turns out to have lost its keys) every latest result is written again, so the
API never shows services as unknown just because Redis restarted.

Any Redis error counts as an outage, not only a lost connection: a wrong database
index or a key of the wrong type fails every write just as surely, and neither may
stop the collector or fill its log with tracebacks.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

from redis.exceptions import RedisError

from collector.probes.base import summary
from shared import keys
from shared.config import Config
from shared.model import SEVERITY, ProbeResult, Status, StoredResult, to_iso
from shared.store import UNREACHABLE, StatusStore

log = logging.getLogger(__name__)


class Recorder:
    def __init__(self, config: Config, store: StatusStore):
        self.kinds = {service.name: service.kind for service in config.services}
        self.store = store
        self._latest: dict[str, StoredResult] = {}
        self._lock = threading.Lock()
        self._redis_ok = True
        # Status changes met while Redis was away, pushed to the events list when it
        # is back; as many as the list keeps, the oldest dropped first.
        self._unpushed: deque[dict[str, Any]] = deque(maxlen=keys.EVENTS_KEPT)

    def prime(self) -> None:
        """Start from what Redis holds, so a restart neither re-logs nor resets `since`."""
        try:
            stored = self.store.read_many(list(self.kinds))
        except RedisError as error:
            self.redis_failed(error)
            return
        usable = {
            name: item for name, item in stored.items() if item and writable(item)
        }
        with self._lock:
            self._latest.update(usable)

    def record(self, service: str, result: ProbeResult) -> None:
        with self._lock:
            previous = self._latest.get(service)
            unchanged = previous is not None and previous.result.status == result.status
            since = previous.since if unchanged and previous else result.checked_at
            stored = StoredResult(service, self.kinds.get(service, ""), result, since)
            self._latest[service] = stored

        event = None if unchanged else change_event(service, previous, result)
        if event is not None:
            self._log_change(service, previous, result)
        try:
            self.store.write(stored)
            # Changes that waited for Redis go first, so that the list stays in order.
            self._push_unpushed()
            if event is not None:
                self.store.push_event(event)
        except RedisError as error:
            if event is not None:
                with self._lock:
                    self._unpushed.append(event)
            self.redis_failed(error)
            return
        self.redis_succeeded()

    def republish(self) -> None:
        """Write every latest result again (Redis came back empty or after an outage).

        The write is made under the lock: a `record()` landing between a snapshot
        and its write would otherwise be overwritten by the older result. The wait
        it costs a run is bounded by the store's socket timeout.
        """
        with self._lock:
            latest = list(self._latest.values())
            if latest:
                self.store.write_many(latest)
            events = len(self._unpushed)
        self._push_unpushed()
        if latest or events:
            log.info(
                "wrote %d latest results to Redis again, and %d status changes",
                len(latest),
                events,
            )

    def _push_unpushed(self) -> None:
        """Push the status changes met while Redis was away, oldest first."""
        with self._lock:
            while self._unpushed:
                self.store.push_event(self._unpushed[0])
                self._unpushed.popleft()

    def redis_failed(self, error: Exception) -> None:
        # Under the lock: runs of several services fail at once, and only one may warn.
        with self._lock:
            first, self._redis_ok = self._redis_ok, False
        if first:
            log.warning(
                "redis %s (%s): results are kept in memory until it is back",
                "unreachable" if isinstance(error, UNREACHABLE) else "failing",
                summary(error),
            )

    def redis_succeeded(self, *, keys_lost: bool = False) -> None:
        """Note a Redis call that worked; write every result again if Redis was away.

        `keys_lost` says Redis answers but lost what it held (restarted or flushed).
        Both at once, after a long outage, still write everything only once.
        """
        with self._lock:
            back, self._redis_ok = not self._redis_ok, True
        if back:
            log.info("redis reachable again")
        if not (back or keys_lost):
            return
        try:
            self.republish()
        except RedisError as error:
            self.redis_failed(error)

    def latest(self) -> dict[str, StoredResult]:
        with self._lock:
            return dict(self._latest)

    def _log_change(
        self, service: str, previous: StoredResult | None, result: ProbeResult
    ) -> None:
        old = previous.result.status if previous else None
        worse = old is None or SEVERITY[result.status] > SEVERITY[old]
        level = (
            logging.WARNING
            if worse and result.status != Status.OPERATIONAL
            else logging.INFO
        )
        log.log(
            level,
            "service=%s status %s -> %s%s",
            service,
            old.value if old else "(none)",
            result.status.value,
            f": {result.reason}" if result.reason else "",
        )


def writable(stored: StoredResult) -> bool:
    """Whether `stored` can be written; False, with a warning, when it cannot.

    An instant Python can read but not convert to UTC (year 1 at +14:00) would
    raise at every write of the service, its `since` being carried over while
    the status holds. Left out, it is replaced by a fresh result.
    """
    try:
        stored.to_json()
    except (OverflowError, ValueError, TypeError) as error:
        log.warning(
            "service=%s has a stored result that cannot be written (%s): "
            "a fresh result replaces it",
            stored.service,
            summary(error),
        )
        return False
    return True


def change_event(
    service: str, previous: StoredResult | None, result: ProbeResult
) -> dict:
    return {
        "service": service,
        "from": previous.result.status.value if previous else None,
        "to": result.status.value,
        "reason": result.reason,
        "at": to_iso(result.checked_at),
    }
