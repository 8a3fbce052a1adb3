"""Check the status store on fakeredis: results, heartbeat, events and back-offs."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from shared import keys
from shared.model import ProbeResult, StoredResult, utcnow
from shared.store import UNREACHABLE, StatusStore, connect

CHECKED = datetime(2026, 12, 3, 16, 20, tzinfo=UTC)


def stored(service: str, latency_ms: int = 10) -> StoredResult:
    result = ProbeResult.operational(latency_ms, active_hooks=2).stamped(CHECKED)
    return StoredResult(service, "webhooks", result, since=CHECKED)


def count_commands(client: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the name of every command the client sends outside a pipeline."""
    sent: list[str] = []
    original = client.execute_command

    def recording(*args: Any, **options: Any) -> Any:
        sent.append(str(args[0]))
        return original(*args, **options)

    monkeypatch.setattr(client, "execute_command", recording)
    return sent


def test_results_written_together_read_back_in_one_round_trip(
    fake_store: StatusStore, fake_redis: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_store.write_many([stored("a", 1), stored("b", 2)])
    sent = count_commands(fake_redis, monkeypatch)

    found = fake_store.read_many(["a", "b", "missing"])

    assert sent == ["MGET"]
    assert found == {"a": stored("a", 1), "b": stored("b", 2), "missing": None}


def test_a_result_lands_under_its_service_key(
    fake_store: StatusStore, fake_redis: redis.Redis
) -> None:
    fake_store.write(stored("groqCloud"))

    text = fake_redis.get(keys.service("groqCloud"))

    assert json.loads(text)["service"] == "groqCloud"
    assert fake_redis.ttl(keys.service("groqCloud")) == -1  # the API judges staleness
    assert fake_store.read("groqCloud") == stored("groqCloud")


def test_a_later_write_replaces_the_earlier_one(fake_store: StatusStore) -> None:
    fake_store.write(stored("a", 1))
    fake_store.write_many([stored("a", 99)])

    assert fake_store.read("a") == stored("a", 99)


def test_reading_no_services_asks_redis_nothing(
    fake_store: StatusStore, fake_redis: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = count_commands(fake_redis, monkeypatch)

    assert fake_store.read_many([]) == {}
    assert sent == []


@pytest.mark.parametrize("garbage", ["not json", '{"status": "down"}', "[1, 2]"])
def test_a_corrupt_result_reads_none_with_a_warning(
    fake_store: StatusStore,
    fake_redis: redis.Redis,
    caplog: pytest.LogCaptureFixture,
    garbage: str,
) -> None:
    fake_store.write(stored("good"))
    fake_redis.set(keys.service("bad"), garbage)

    with caplog.at_level(logging.WARNING, logger="shared.store"):
        found = fake_store.read_many(["good", "bad"])

    assert found == {"good": stored("good"), "bad": None}
    assert keys.service("bad") in caplog.text


def test_a_heartbeat_is_stored_with_its_ttl(
    fake_store: StatusStore, fake_redis: redis.Redis
) -> None:
    fake_store.beat({"pid": 42, "beat_at": "2026-12-03T16:20:00+00:00"}, ttl=30)

    assert 29_000 < fake_redis.pttl(keys.HEARTBEAT) <= 30_000
    assert fake_store.heartbeat() == {"pid": 42, "beat_at": "2026-12-03T16:20:00+00:00"}


def test_beat_reports_a_heartbeat_that_vanished(fake_store: StatusStore) -> None:
    first = fake_store.beat({"pid": 1}, ttl=30)
    second = fake_store.beat({"pid": 1}, ttl=30)
    fake_store.client.flushdb()  # as a Redis restart or a FLUSHALL would
    after_flush = fake_store.beat({"pid": 1}, ttl=30)

    assert (first, second, after_flush) == (True, False, True)


def test_a_sub_millisecond_ttl_is_not_refused_by_redis(fake_store: StatusStore) -> None:
    # PX 0 is an error to Redis; the store rounds up to the shortest TTL instead.
    assert fake_store.beat({"pid": 1}, ttl=0.0001) is True


def test_a_forgotten_heartbeat_reads_none(fake_store: StatusStore) -> None:
    fake_store.beat({"pid": 1}, ttl=30)

    fake_store.forget_heartbeat()

    assert fake_store.heartbeat() is None


@pytest.mark.parametrize("garbage", ["{", "[1]", '"text"'])
def test_an_unreadable_heartbeat_reads_none(
    fake_store: StatusStore, fake_redis: redis.Redis, garbage: str
) -> None:
    fake_redis.set(keys.HEARTBEAT, garbage)

    assert fake_store.heartbeat() is None


def test_a_heartbeat_key_of_the_wrong_type_reads_none_with_a_warning(
    fake_store: StatusStore, fake_redis: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    fake_redis.hset(keys.HEARTBEAT, "pid", "1")

    with caplog.at_level(logging.WARNING, logger="shared.store"):
        assert fake_store.heartbeat() is None

    assert keys.HEARTBEAT in caplog.text
    assert "wrong type" in caplog.text


@pytest.mark.integration
def test_a_heartbeat_key_of_the_wrong_type_reads_none_on_the_real_redis(
    real_redis: redis.Redis,
) -> None:
    real_redis.rpush(keys.HEARTBEAT, "not", "json")

    assert StatusStore(real_redis).heartbeat() is None


def test_a_collector_forgets_only_its_own_heartbeat(fake_store: StatusStore) -> None:
    fake_store.beat({"instance": "theirs", "pid": 2}, ttl=30)

    fake_store.forget_heartbeat("ours")
    kept = fake_store.heartbeat()
    fake_store.forget_heartbeat("theirs")

    assert kept == {"instance": "theirs", "pid": 2}
    assert fake_store.heartbeat() is None


def test_forgetting_a_heartbeat_leaves_a_key_of_the_wrong_type(
    fake_store: StatusStore, fake_redis: redis.Redis
) -> None:
    fake_redis.rpush(keys.HEARTBEAT, "not", "json")

    fake_store.forget_heartbeat("ours")

    assert fake_redis.type(keys.HEARTBEAT) == "list"


@pytest.mark.integration
def test_a_collector_forgets_only_its_own_heartbeat_on_the_real_redis(
    real_redis: redis.Redis,
) -> None:
    store = StatusStore(real_redis)
    store.beat({"instance": "theirs"}, ttl=30)

    store.forget_heartbeat("ours")
    kept = store.heartbeat()
    store.forget_heartbeat("theirs")

    assert kept == {"instance": "theirs"}
    assert not real_redis.exists(keys.HEARTBEAT)


def test_events_are_capped_and_newest_first(
    fake_store: StatusStore, fake_redis: redis.Redis
) -> None:
    for number in range(keys.EVENTS_KEPT + 5):
        fake_store.push_event({"n": number})

    events = fake_store.events(limit=keys.EVENTS_KEPT + 50)

    newest = keys.EVENTS_KEPT + 4
    assert fake_redis.llen(keys.EVENTS) == keys.EVENTS_KEPT
    assert [event["n"] for event in events] == list(range(newest, 4, -1))


def test_events_honour_their_limit(fake_store: StatusStore) -> None:
    for number in range(5):
        fake_store.push_event({"n": number})

    assert [event["n"] for event in fake_store.events(limit=2)] == [4, 3]
    assert fake_store.events(limit=0) == []


def test_an_unreadable_event_is_skipped(
    fake_store: StatusStore, fake_redis: redis.Redis
) -> None:
    fake_store.push_event({"n": 1})
    fake_redis.lpush(keys.EVENTS, "{broken")
    fake_store.push_event({"n": 2})

    assert fake_store.events() == [{"n": 2}, {"n": 1}]


def test_a_back_off_is_read_back_and_expires_at_its_instant(
    fake_store: StatusStore, fake_redis: redis.Redis
) -> None:
    now = utcnow()
    until = (now + timedelta(minutes=10)).replace(microsecond=0)

    fake_store.back_off("groqCloud", until, "HTTP 429, Retry-After 600", now=now)

    assert fake_store.backoff_until("groqCloud") == (until, "HTTP 429, Retry-After 600")
    remaining_ms = (until - utcnow()).total_seconds() * 1000
    assert abs(fake_redis.pttl(keys.backoff("groqCloud")) - remaining_ms) < 2_000


def test_a_back_off_lasts_from_the_callers_clock_not_the_wall_clock(
    fake_store: StatusStore, fake_redis: redis.Redis
) -> None:
    # A probe's clock, frozen half a year from the wall clock in either direction.
    for offset in (timedelta(days=-180), timedelta(days=180)):
        now = utcnow() + offset

        fake_store.back_off("groqCloud", now + timedelta(minutes=5), "x", now=now)

        assert 299_000 <= fake_redis.pttl(keys.backoff("groqCloud")) <= 300_000


def test_a_back_off_in_the_past_expires_at_once(fake_store: StatusStore) -> None:
    now = utcnow()
    fake_store.back_off("groqCloud", now - timedelta(minutes=1), "old", now=now)
    time.sleep(0.01)  # its TTL is one millisecond

    assert fake_store.backoff_until("groqCloud") is None


def test_no_back_off_reads_none(fake_store: StatusStore) -> None:
    assert fake_store.backoff_until("groqCloud") is None


@pytest.mark.parametrize(
    "garbage", ["{", "[]", '{"reason": "x"}', '{"until": "soon", "reason": "x"}']
)
def test_an_unreadable_back_off_reads_none(
    fake_store: StatusStore, fake_redis: redis.Redis, garbage: str
) -> None:
    fake_redis.set(keys.backoff("groqCloud"), garbage)

    assert fake_store.backoff_until("groqCloud") is None


def test_an_unreachable_redis_raises_for_the_caller_to_judge() -> None:
    store = StatusStore(connect("redis://127.0.0.1:1/0", timeout=0.5))

    with pytest.raises(UNREACHABLE):
        store.read_many(["a"])
    store.client.close()


def test_an_unreadable_result_is_warned_about_once_not_at_every_read(
    fake_redis, fake_store, caplog
) -> None:
    import logging

    from shared import keys, once

    once.forget()
    fake_redis.set(keys.service("groqCloud"), "{not json")

    with caplog.at_level(logging.WARNING, logger="shared.store"):
        for _ in range(5):
            assert fake_store.read_many(["groqCloud"]) == {"groqCloud": None}

    assert sum("unreadable result" in r.getMessage() for r in caplog.records) == 1
