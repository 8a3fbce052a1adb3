"""The recorder: results into Redis, one log line per status change, memory for outages."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
import redis

from collector.recorder import Recorder
from shared import keys
from shared.config import CollectorSettings, Config, ServiceConfig
from shared.model import ProbeResult, Status, StoredResult
from shared.store import StatusStore, connect
from statusd.embedded import EmbeddedRedis

SERVICES = ("groqCloud", "pinecone", "scheduler")

START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def make_config() -> Config:
    services = tuple(
        ServiceConfig(name, "http", 60.0, 10.0, 180.0, {}) for name in SERVICES
    )
    return Config("test.toml", services, CollectorSettings())


def at(minutes: float, result: ProbeResult) -> ProbeResult:
    return result.stamped(START + timedelta(minutes=minutes))


def recorder_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [line for line in caplog.records if line.name == "collector.recorder"]


@pytest.fixture
def caplog_info(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="collector.recorder")
    return caplog


def test_it_logs_and_pushes_an_event_for_a_first_result(
    fake_store: StatusStore, caplog_info: pytest.LogCaptureFixture
):
    recorder = Recorder(make_config(), fake_store)

    recorder.record("groqCloud", at(0, ProbeResult.down("HTTP 503 (expected 200)")))

    [line] = recorder_lines(caplog_info)
    assert line.getMessage() == (
        "service=groqCloud status (none) -> down: HTTP 503 (expected 200)"
    )
    assert line.levelno == logging.WARNING
    [event] = fake_store.events()
    assert event["service"] == "groqCloud"
    assert (event["from"], event["to"]) == (None, "down")
    stored = fake_store.read("groqCloud")
    assert stored is not None
    assert stored.kind == "http"
    assert stored.since == START


def test_it_logs_nothing_for_a_repeated_status_and_keeps_since(
    fake_store: StatusStore, caplog_info: pytest.LogCaptureFixture
):
    recorder = Recorder(make_config(), fake_store)
    recorder.record("pinecone", at(0, ProbeResult.operational(40)))
    caplog_info.clear()

    recorder.record("pinecone", at(1, ProbeResult.operational(55)))
    recorder.record("pinecone", at(2, ProbeResult.operational(61)))

    assert recorder_lines(caplog_info) == []
    assert len(fake_store.events()) == 1
    stored = fake_store.read("pinecone")
    assert stored is not None
    assert stored.since == START
    assert stored.result.checked_at == START + timedelta(minutes=2)
    assert stored.result.latency_ms == 61


def test_it_logs_a_change_from_old_to_new_status_with_its_reason(
    fake_store: StatusStore, caplog_info: pytest.LogCaptureFixture
):
    recorder = Recorder(make_config(), fake_store)
    recorder.record("scheduler", at(0, ProbeResult.operational()))
    caplog_info.clear()

    recorder.record("scheduler", at(5, ProbeResult.degraded("job overdue by 7m")))

    [line] = recorder_lines(caplog_info)
    assert line.getMessage() == (
        "service=scheduler status operational -> degraded: job overdue by 7m"
    )
    assert line.levelno == logging.WARNING
    newest = fake_store.events()[0]
    assert (newest["from"], newest["to"]) == ("operational", "degraded")
    assert newest["reason"] == "job overdue by 7m"
    stored = fake_store.read("scheduler")
    assert stored is not None
    assert stored.since == START + timedelta(minutes=5)


def test_it_logs_a_recovery_at_info(
    fake_store: StatusStore, caplog_info: pytest.LogCaptureFixture
):
    recorder = Recorder(make_config(), fake_store)
    recorder.record("scheduler", at(0, ProbeResult.down("timed out")))
    caplog_info.clear()

    recorder.record("scheduler", at(1, ProbeResult.operational()))

    [line] = recorder_lines(caplog_info)
    assert line.getMessage() == "service=scheduler status down -> operational"
    assert line.levelno == logging.INFO


def test_it_neither_relogs_nor_resets_since_after_a_restart(
    fake_store: StatusStore, caplog_info: pytest.LogCaptureFixture
):
    Recorder(make_config(), fake_store).record(
        "groqCloud", at(0, ProbeResult.degraded("slow: 1500ms, above 1000ms"))
    )
    caplog_info.clear()
    restarted = Recorder(make_config(), fake_store)

    restarted.prime()
    restarted.record("groqCloud", at(30, ProbeResult.degraded("slow: 1300ms")))

    assert recorder_lines(caplog_info) == []
    assert len(fake_store.events()) == 1
    stored = fake_store.read("groqCloud")
    assert stored is not None
    assert stored.since == START


def test_it_logs_a_change_against_the_status_found_in_redis(
    fake_store: StatusStore, caplog_info: pytest.LogCaptureFixture
):
    Recorder(make_config(), fake_store).record(
        "pinecone", at(0, ProbeResult.operational())
    )
    caplog_info.clear()
    restarted = Recorder(make_config(), fake_store)
    restarted.prime()

    restarted.record("pinecone", at(3, ProbeResult.down("HTTP 500 (expected 200)")))

    [line] = recorder_lines(caplog_info)
    assert "status operational -> down" in line.getMessage()


def test_it_keeps_recording_with_one_warning_while_redis_is_unreachable(
    caplog_info: pytest.LogCaptureFixture,
):
    store = StatusStore(connect("redis://127.0.0.1:1", timeout=0.2))
    recorder = Recorder(make_config(), store)

    recorder.prime()
    for minute in range(4):
        for service in SERVICES:
            status = ProbeResult.operational() if minute % 2 else ProbeResult.down("x")
            recorder.record(service, at(minute, status))

    unreachable = [
        line
        for line in recorder_lines(caplog_info)
        if "redis unreachable" in line.getMessage()
    ]
    assert len(unreachable) == 1
    assert unreachable[0].levelno == logging.WARNING
    latest = recorder.latest()
    assert sorted(latest) == sorted(SERVICES)
    assert {stored.result.status for stored in latest.values()} == {Status.OPERATIONAL}


def test_it_warns_once_when_many_runs_find_redis_unreachable_at_once(
    caplog_info: pytest.LogCaptureFixture,
):
    store = StatusStore(connect("redis://127.0.0.1:1", timeout=0.2))
    recorder = Recorder(make_config(), store)
    ready = threading.Barrier(len(SERVICES) * 3)

    def record(service: str) -> None:
        ready.wait()
        recorder.record(service, at(0, ProbeResult.operational()))

    threads = [
        threading.Thread(target=record, args=(service,)) for service in SERVICES * 3
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    unreachable = [
        line
        for line in recorder_lines(caplog_info)
        if "redis unreachable" in line.getMessage()
    ]
    assert len(unreachable) == 1


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_on_fixed_port() -> Iterator[list[EmbeddedRedis]]:
    """Embedded Redis servers a test starts on one port; all stopped afterwards."""
    servers: list[EmbeddedRedis] = []
    yield servers
    for server in servers:
        server.stop()


def test_it_writes_everything_again_when_redis_comes_back(
    redis_on_fixed_port: list[EmbeddedRedis], caplog_info: pytest.LogCaptureFixture
):
    port = free_port()
    first = EmbeddedRedis(port=port).start()
    redis_on_fixed_port.append(first)
    store = StatusStore(connect(first.url, timeout=0.5))
    recorder = Recorder(make_config(), store)
    recorder.record("groqCloud", at(0, ProbeResult.operational(80)))
    recorder.record("pinecone", at(0, ProbeResult.degraded("index not ready")))

    first.stop()
    recorder.record("scheduler", at(1, ProbeResult.down("jobs overdue")))
    recorder.record("groqCloud", at(1, ProbeResult.operational(90)))
    second = EmbeddedRedis(port=port).start()
    redis_on_fixed_port.append(second)
    assert store.read_many(list(SERVICES)) == dict.fromkeys(SERVICES)
    recorder.record("pinecone", at(2, ProbeResult.degraded("index not ready")))

    stored = store.read_many(list(SERVICES))
    assert {name: item.result.status for name, item in stored.items() if item} == {
        "groqCloud": Status.OPERATIONAL,
        "pinecone": Status.DEGRADED,
        "scheduler": Status.DOWN,
    }
    assert stored["groqCloud"] is not None
    assert stored["groqCloud"].result.latency_ms == 90
    assert stored["pinecone"] is not None
    assert stored["pinecone"].since == START
    messages = [line.getMessage() for line in recorder_lines(caplog_info)]
    assert "redis reachable again" in messages


def failing_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        line.getMessage()
        for line in recorder_lines(caplog)
        if line.getMessage().startswith("redis failing")
    ]


@pytest.mark.integration
def test_it_keeps_recording_with_one_warning_when_redis_refuses_its_database(
    real_redis: redis.Redis, caplog_info: pytest.LogCaptureFixture
):
    server = real_redis.connection_pool.connection_kwargs
    url = f"redis://{server['host']}:{server['port']}/4000"  # beyond any `databases`
    store = StatusStore(connect(url, timeout=1.0))
    recorder = Recorder(make_config(), store)

    try:
        recorder.prime()
        for minute in range(3):
            for service in SERVICES:
                recorder.record(service, at(minute, ProbeResult.down(f"x{minute}")))
    finally:
        store.client.close()

    [warning] = failing_lines(caplog_info)
    assert "ResponseError: DB index is out of range" in warning
    assert sorted(recorder.latest()) == sorted(SERVICES)


def test_it_warns_once_instead_of_raising_when_the_events_key_has_the_wrong_type(
    fake_store: StatusStore,
    fake_redis: redis.Redis,
    caplog_info: pytest.LogCaptureFixture,
):
    fake_redis.set(keys.EVENTS, "not a list")
    recorder = Recorder(make_config(), fake_store)

    recorder.record("groqCloud", at(0, ProbeResult.down("HTTP 503")))
    recorder.record("pinecone", at(0, ProbeResult.down("HTTP 503")))

    [warning] = failing_lines(caplog_info)
    assert "ResponseError" in warning
    assert "WRONGTYPE" in warning
    stored = fake_store.read("groqCloud")
    assert stored is not None
    assert stored.result.status is Status.DOWN


def test_it_writes_again_when_a_redis_error_clears(
    fake_store: StatusStore,
    fake_redis: redis.Redis,
    caplog_info: pytest.LogCaptureFixture,
):
    fake_redis.set(keys.EVENTS, "not a list")
    recorder = Recorder(make_config(), fake_store)
    recorder.record("groqCloud", at(0, ProbeResult.down("HTTP 503")))
    fake_redis.delete(keys.EVENTS)

    recorder.record("pinecone", at(1, ProbeResult.operational(40)))

    assert "redis reachable again" in [
        line.getMessage() for line in recorder_lines(caplog_info)
    ]
    # Newest first; the change that met the broken key was kept and written later.
    assert [event["service"] for event in fake_store.events()] == [
        "pinecone",
        "groqCloud",
    ]


OUT_OF_RANGE = "0001-01-01T00:00:00+14:00"


def stored_json(
    service: str, since: str, checked_at: str = "2025-03-01T11:00:00+00:00"
) -> str:
    return json.dumps(
        {
            "service": service,
            "kind": "http",
            "status": "operational",
            "reason": None,
            "latency_ms": 40,
            "checked_at": checked_at,
            "since": since,
            "values": {},
        }
    )


@pytest.mark.parametrize(
    "document",
    [
        stored_json("pinecone", since=OUT_OF_RANGE),
        stored_json(
            "pinecone", since="2025-03-01T10:00:00+00:00", checked_at=OUT_OF_RANGE
        ),
    ],
    ids=["since", "checked_at"],
)
def test_it_writes_a_fresh_result_over_a_stored_one_with_an_instant_out_of_range(
    fake_store: StatusStore,
    fake_redis: redis.Redis,
    caplog_info: pytest.LogCaptureFixture,
    document: str,
):
    fake_redis.set(keys.service("pinecone"), document)
    recorder = Recorder(make_config(), fake_store)

    recorder.prime()
    recorder.record("pinecone", at(0, ProbeResult.operational(55)))
    recorder.record("pinecone", at(1, ProbeResult.operational(61)))
    recorder.republish()

    stored = fake_store.read("pinecone")
    assert stored is not None
    assert stored.since == START
    assert stored.result.latency_ms == 61
    assert any(
        "pinecone" in line.getMessage()
        for line in caplog_info.records
        if line.levelno == logging.WARNING
    )


class StoreHolding(StatusStore):
    """A store whose reads give `held`, however Redis would have parsed it."""

    def __init__(self, client: redis.Redis, held: StoredResult):
        super().__init__(client)
        self.held = held

    def read_many(self, services: list[str]) -> dict[str, StoredResult | None]:
        return {
            name: self.held if name == self.held.service else None for name in services
        }


def test_it_leaves_out_a_primed_result_that_cannot_be_written(
    fake_redis: redis.Redis, caplog_info: pytest.LogCaptureFixture
):
    year_one = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))
    held = StoredResult(
        "pinecone", "http", at(-60, ProbeResult.operational(40)), since=year_one
    )
    store = StoreHolding(fake_redis, held)
    recorder = Recorder(make_config(), store)

    recorder.prime()
    recorder.record("pinecone", at(0, ProbeResult.operational(55)))

    stored = StatusStore(fake_redis).read("pinecone")
    assert stored is not None
    assert stored.since == START
    [warning] = [
        line.getMessage()
        for line in recorder_lines(caplog_info)
        if line.levelno == logging.WARNING
    ]
    assert warning.startswith("service=pinecone has a stored result that cannot")
    assert "out of range" in warning


class SlowToRepublish(StatusStore):
    """A store whose `write_many` waits, mid-republish, until the test lets it go."""

    def __init__(self, client: redis.Redis):
        super().__init__(client)
        self.writing = threading.Event()
        self.proceed = threading.Event()

    def write_many(self, results: Iterable[StoredResult]) -> None:
        self.writing.set()
        self.proceed.wait(5)
        super().write_many(results)


def test_a_republish_never_overwrites_a_result_recorded_meanwhile(
    fake_redis: redis.Redis,
):
    store = SlowToRepublish(fake_redis)
    recorder = Recorder(make_config(), store)
    recorder.record("groqCloud", at(0, ProbeResult.operational(80)))
    republishing = threading.Thread(target=recorder.republish)
    republishing.start()
    assert store.writing.wait(5)

    newer = threading.Thread(
        target=recorder.record,
        args=("groqCloud", at(1, ProbeResult.down("HTTP 503"))),
    )
    newer.start()
    newer.join(0.2)  # time enough to overtake the republish, were it not held back
    store.proceed.set()
    republishing.join(5)
    newer.join(5)

    stored = store.read("groqCloud")
    assert stored is not None
    assert stored.result.status is Status.DOWN
    assert stored.result.checked_at == START + timedelta(minutes=1)


class FailingRepublish(StatusStore):
    """A store that takes single writes but fails every `write_many` while `down`."""

    down = True

    def write_many(self, results: Iterable[StoredResult]) -> None:
        if self.down:
            raise redis.exceptions.ConnectionError("Connection reset by peer")
        super().write_many(results)


def test_a_republish_that_fails_counts_as_redis_still_failing(
    fake_redis: redis.Redis, caplog_info: pytest.LogCaptureFixture
):
    store = FailingRepublish(fake_redis)
    recorder = Recorder(make_config(), store)
    recorder.record("groqCloud", at(0, ProbeResult.operational(80)))
    recorder.redis_failed(redis.exceptions.ConnectionError("gone"))
    fake_redis.flushall()

    recorder.redis_succeeded()  # raises nothing: the failure is noted instead
    store.down = False
    recorder.redis_succeeded()

    messages = [line.getMessage() for line in recorder_lines(caplog_info)]
    unreachable = [text for text in messages if text.startswith("redis unreachable")]
    assert len(unreachable) == 2
    assert "ConnectionError: Connection reset by peer" in unreachable[1]
    assert messages.count("redis reachable again") == 2
    stored = store.read("groqCloud")
    assert stored is not None
    assert stored.result.latency_ms == 80


def test_it_writes_again_only_when_redis_was_away_or_lost_its_keys(
    fake_redis: redis.Redis,
):
    store = CountingWrites(fake_redis)
    recorder = Recorder(make_config(), store)
    recorder.record("groqCloud", at(0, ProbeResult.operational(80)))

    recorder.redis_succeeded()
    quiet = store.republished
    recorder.redis_succeeded(keys_lost=True)
    lost = store.republished - quiet
    recorder.redis_failed(redis.exceptions.ConnectionError("gone"))
    recorder.redis_succeeded(keys_lost=True)
    back_and_lost = store.republished - quiet - lost

    assert (quiet, lost, back_and_lost) == (0, 1, 1)


class CountingWrites(StatusStore):
    """A store that counts its `write_many` calls: each one is a republish."""

    republished = 0

    def write_many(self, results: Iterable[StoredResult]) -> None:
        self.republished += 1
        super().write_many(results)


def test_status_changes_met_while_redis_was_away_reach_the_events_list(
    redis_on_fixed_port: list[EmbeddedRedis],
):
    port = free_port()
    first = EmbeddedRedis(port=port).start()
    redis_on_fixed_port.append(first)
    store = StatusStore(connect(first.url, timeout=0.5))
    recorder = Recorder(make_config(), store)
    recorder.record("groqCloud", at(0, ProbeResult.operational(80)))

    first.stop()
    recorder.record("groqCloud", at(1, ProbeResult.down("HTTP 503")))
    recorder.record("groqCloud", at(2, ProbeResult.degraded("slow")))
    second = EmbeddedRedis(port=port).start()
    redis_on_fixed_port.append(second)
    recorder.record("pinecone", at(3, ProbeResult.operational(40)))

    changes = [(e["service"], e["from"], e["to"]) for e in store.events()]
    assert changes == [
        ("pinecone", None, "operational"),
        ("groqCloud", "down", "degraded"),
        ("groqCloud", "operational", "down"),
    ]
