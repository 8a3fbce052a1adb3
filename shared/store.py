"""The status store: the Redis side of statusd, shared by the collector and the API.

The collector writes; the API only reads. Every key comes from `shared.keys`.
Redis errors are not caught here: the collector and the API each decide what an
unreachable Redis means for them. The one exception is a heartbeat key of the wrong
type, which reads as no heartbeat.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from shared import keys
from shared.model import StoredResult, from_iso, to_iso
from shared.once import warn_once

log = logging.getLogger(__name__)

# The errors that mean "Redis is not there right now"; both sides recover from them.
UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def connect(url: str, *, timeout: float = 2.0) -> redis.Redis:
    """A client that fails fast: redis-py's default retries would stall for seconds."""
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=15,
        decode_responses=True,
    )


class StatusStore:
    def __init__(self, client: redis.Redis):
        self.client = client

    def write(self, stored: StoredResult) -> None:
        self.client.set(keys.service(stored.service), stored.to_json())

    def write_many(self, results: Iterable[StoredResult]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for stored in results:
            pipe.set(keys.service(stored.service), stored.to_json())
        pipe.execute()

    def read(self, service: str) -> StoredResult | None:
        return self.read_many([service])[service]

    def read_many(self, services: list[str]) -> dict[str, StoredResult | None]:
        """Latest results in one round trip; a missing or unreadable one is None."""
        if not services:
            return {}
        # Text, not bytes: the client decodes responses (see connect()).
        texts = cast(
            list[str | None],
            self.client.mget([keys.service(name) for name in services]),
        )
        return {
            name: self._parse(name, text)
            for name, text in zip(services, texts, strict=True)
        }

    def beat(self, heartbeat: dict[str, Any], ttl: float) -> bool:
        """Refresh the collector's heartbeat; True when it had expired or vanished.

        A vanished heartbeat while the collector runs means Redis was restarted or
        flushed, and with it every result: the caller then writes them again.
        """
        pipe = self.client.pipeline(transaction=False)
        pipe.exists(keys.HEARTBEAT)
        pipe.set(keys.HEARTBEAT, json.dumps(heartbeat), px=max(1, int(ttl * 1000)))
        existed, _ = pipe.execute()
        return not existed

    def heartbeat(self) -> dict[str, Any] | None:
        """The collector's heartbeat; None when there is none or it is unreadable."""
        return _read_heartbeat(self.client)

    def forget_heartbeat(self, instance: str | None = None) -> None:
        """Delete the heartbeat; given `instance`, only while that collector wrote it.

        Two collectors on one Redis must not delete each other's heartbeat when one
        of them stops. WATCH makes the read and the delete one step: should the
        other collector beat in between, the delete is not carried out.
        """
        if instance is None:
            self.client.delete(keys.HEARTBEAT)
            return
        with self.client.pipeline() as pipe:
            try:
                pipe.watch(keys.HEARTBEAT)
                current = _read_heartbeat(pipe)
                if current is None or current.get("instance") != instance:
                    return
                pipe.multi()
                pipe.delete(keys.HEARTBEAT)
                pipe.execute()
            except redis.exceptions.WatchError:
                pass  # another collector beat meanwhile: the heartbeat is not ours

    def push_event(self, event: dict[str, Any]) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.lpush(keys.EVENTS, json.dumps(event))
        pipe.ltrim(keys.EVENTS, 0, keys.EVENTS_KEPT - 1)
        pipe.execute()

    def events(self, limit: int = 50) -> list[dict[str, Any]]:
        if limit <= 0:
            return []  # LRANGE 0 -1 would mean "all of them"
        # Text, not bytes: the client decodes responses (see connect()).
        texts = cast(list[str], self.client.lrange(keys.EVENTS, 0, limit - 1))
        return [event for text in texts if (event := _load_object(text, keys.EVENTS))]

    def backoff_until(self, service: str) -> tuple[datetime, str] | None:
        """Until when, and why, a vendor asked not to be called; None when it did not."""
        key = keys.backoff(service)
        # Text, not bytes: the client decodes responses (see connect()).
        text = cast(str | None, self.client.get(key))
        document = _load_object(text, key) if text else None
        if not document:
            return None
        try:
            until = from_iso(document.get("until"))
        except (TypeError, ValueError):
            log.warning("ignoring unreadable back-off key=%s", key)
            return None
        return (until, str(document.get("reason", ""))) if until else None

    def back_off(
        self, service: str, until: datetime, reason: str, *, now: datetime
    ) -> None:
        """Remember a vendor's "not before"; the key expires by itself at that instant.

        The TTL is counted from the caller's `now`, the clock `until` was reckoned
        on: mixing in another clock (ours against a probe's) would shorten or
        lengthen the hold by however far the two clocks disagree.
        """
        document = {"until": to_iso(until), "reason": reason}
        ttl_ms = max(1, int((until - now).total_seconds() * 1000))
        self.client.set(keys.backoff(service), json.dumps(document), px=ttl_ms)

    def _parse(self, service: str, text: str | None) -> StoredResult | None:
        if text is None:
            return None
        try:
            return StoredResult.from_json(text)
        except ValueError as error:
            key = keys.service(service)
            warn_once(
                log,
                (key, str(error)),
                "ignoring unreadable result key=%s: %s",
                key,
                error,
            )
            return None


def _read_heartbeat(client: redis.Redis) -> dict[str, Any] | None:
    try:
        # Text, not bytes: the client decodes responses (see connect()).
        text = cast(str | None, client.get(keys.HEARTBEAT))
    except redis.exceptions.ResponseError as error:
        if not str(error).startswith("WRONGTYPE"):
            raise
        # Not written by statusd (a list, a hash...); the next beat replaces it.
        log.warning("ignoring key=%s: it holds the wrong type", keys.HEARTBEAT)
        return None
    return _load_object(text, keys.HEARTBEAT) if text else None


def _load_object(text: str, key: str) -> dict[str, Any] | None:
    """Parse a JSON object written by statusd; None, with a warning, for anything else."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        document = None
    if not isinstance(document, dict):
        log.warning("ignoring unreadable JSON key=%s", key)
        return None
    return document
