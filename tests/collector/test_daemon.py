"""The collector daemon: schedules, isolation of hung probes, heartbeat and shutdown."""

from __future__ import annotations

import itertools
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import collector_upstreams as upstreams
import fakeredis
import pytest
import redis
from collector_upstreams import Behaviour, Upstream

from collector.daemon import Collector
from collector.probes import Deadline, Probe, ProbeContext
from shared import keys
from shared.config import CollectorSettings, Config, ServiceConfig
from shared.model import ProbeResult, Status, StoredResult, utcnow
from shared.store import StatusStore, connect
from statusd.embedded import EmbeddedRedis

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Plan:
    """How a fake service behaves: how long each probe takes (None: until released)."""

    interval: float = 60.0
    timeout: float = 0.5
    takes: float | None = 0.0


@dataclass
class Calls:
    """What the fake probes of one service did, counted across threads."""

    started: list[float] = field(default_factory=list)
    running: int = 0
    most_at_once: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def enter(self) -> None:
        with self.lock:
            self.started.append(time.monotonic())
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)

    def leave(self) -> None:
        with self.lock:
            self.running -= 1


class FakeProbe(Probe):
    kind = "fake"

    def __init__(
        self,
        service: ServiceConfig,
        context: ProbeContext,
        plan: Plan,
        calls: Calls,
        release: threading.Event,
    ):
        super().__init__(service, context)
        self.plan = plan
        self.calls = calls
        self.release = release

    def check(self, deadline: Deadline) -> ProbeResult:
        self.calls.enter()
        try:
            if self.plan.takes is None:
                self.release.wait(120)
            elif self.plan.takes:
                self.release.wait(self.plan.takes)
            return ProbeResult.operational(7)
        finally:
            self.calls.leave()


class Harness:
    """Collectors on fake probes; everything they start is stopped after the test."""

    def __init__(self, store: StatusStore):
        self.store = store
        self.release = threading.Event()
        self.calls: dict[str, Calls] = {}
        self.collectors: list[Collector] = []

    def collector(
        self,
        plans: dict[str, Plan],
        heartbeat_interval: float = 5.0,
        heartbeat_ttl: float = 30.0,
        workers: int | None = None,
    ) -> Collector:
        services = tuple(
            ServiceConfig(name, "fake", plan.interval, plan.timeout, 180.0, {})
            for name, plan in plans.items()
        )
        settings = CollectorSettings(
            workers=workers,
            heartbeat_interval=heartbeat_interval,
            heartbeat_ttl=heartbeat_ttl,
        )
        config = Config("test.toml", services, settings)
        self.calls.update({name: Calls() for name in plans})

        def build(service: ServiceConfig, context: ProbeContext) -> Probe:
            plan, calls = plans[service.name], self.calls[service.name]
            return FakeProbe(service, context, plan, calls, self.release)

        collector = Collector(
            config, self.store, ProbeContext(environ={}), build_probe=build
        )
        self.collectors.append(collector)
        return collector

    def close(self) -> None:
        self.release.set()
        for collector in self.collectors:
            collector.stop()


@pytest.fixture
def harness(fake_store: StatusStore) -> Iterator[Harness]:
    harness = Harness(fake_store)
    yield harness
    harness.close()


def wait_until(condition: Callable[[], object], seconds: float = 5.0) -> bool:
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())


def all_recorded(store: StatusStore, services: list[str]) -> bool:
    return all(store.read_many(services).values())


def test_it_probes_every_service_once_at_start(harness: Harness):
    plans = {"groqCloud": Plan(), "pinecone": Plan(), "scheduler": Plan()}
    collector = harness.collector(plans)

    collector.start()

    assert wait_until(lambda: all_recorded(harness.store, list(plans)), 3.0)
    assert [len(harness.calls[name].started) for name in plans] == [1, 1, 1]


# Three and a half seconds of one collector with services of every kind of timing,
# shared by the tests of scheduling: each would otherwise wait as long on its own.
BUSY_PLANS = {
    "fast": Plan(interval=1.0),
    "alsoFast": Plan(interval=1.0, takes=0.1),
    "slow": Plan(interval=60.0),
    "hung": Plan(interval=1.0, timeout=0.5, takes=None),
    # Each probe outlives its timeout and its interval, so runs keep overlapping.
    "overrun": Plan(interval=1.0, timeout=0.3, takes=1.3),
}


@pytest.fixture(scope="module")
def busy_run() -> Iterator[Harness]:
    harness = Harness(StatusStore(fakeredis.FakeRedis(decode_responses=True)))
    collector = harness.collector(BUSY_PLANS)
    collector.start()
    time.sleep(3.5)
    collector.stop()
    yield harness
    harness.close()


def test_it_probes_each_service_on_its_own_interval(busy_run: Harness):
    assert 3 <= len(busy_run.calls["fast"].started) <= 5
    assert len(busy_run.calls["slow"].started) == 1


def test_it_keeps_probing_others_on_time_while_one_probe_hangs(busy_run: Harness):
    for name in ("fast", "alsoFast"):
        started = busy_run.calls[name].started
        assert len(started) >= 3
        gaps = [later - earlier for earlier, later in itertools.pairwise(started)]
        assert max(gaps) < 1.5, f"{name} was late: gaps {gaps}"

    assert len(busy_run.calls["hung"].started) == 1
    hung = busy_run.store.read("hung")
    assert hung is not None
    assert hung.result.status is Status.DOWN


def test_it_never_runs_two_probes_of_one_service_at_once(busy_run: Harness):
    assert len(busy_run.calls["overrun"].started) >= 2
    most_at_once = {name: calls.most_at_once for name, calls in busy_run.calls.items()}
    assert most_at_once == dict.fromkeys(BUSY_PLANS, 1)


def test_it_keeps_a_heartbeat_with_a_ttl_and_removes_it_on_stop(
    harness: Harness, fake_redis: redis.Redis
):
    collector = harness.collector({"groqCloud": Plan()}, heartbeat_ttl=20.0)

    collector.start()
    assert wait_until(lambda: fake_redis.exists(keys.HEARTBEAT))
    ttl_ms = fake_redis.pttl(keys.HEARTBEAT)
    heartbeat = json.loads(fake_redis.get(keys.HEARTBEAT))
    collector.stop()

    assert 0 < ttl_ms <= 20_000
    assert heartbeat["pid"] == os.getpid()
    assert heartbeat["services"] == ["groqCloud"]
    assert not fake_redis.exists(keys.HEARTBEAT)


def test_it_stops_within_seconds_while_a_probe_hangs(harness: Harness):
    plans = {"hung": Plan(interval=120.0, timeout=60.0, takes=None), "ok": Plan()}
    collector = harness.collector(plans)
    collector.start()
    assert wait_until(lambda: harness.calls["hung"].started)

    started = time.monotonic()
    collector.stop()
    took = time.monotonic() - started

    assert took < 3.0
    assert harness.store.read("hung") is None


def test_it_can_be_stopped_without_having_started(
    harness: Harness, fake_redis: redis.Redis
):
    fake_redis.set(keys.HEARTBEAT, "{}")
    collector = harness.collector({"groqCloud": Plan()})

    collector.stop()

    assert fake_redis.exists(keys.HEARTBEAT)
    assert harness.calls["groqCloud"].started == []


def test_it_writes_every_result_again_after_redis_lost_its_keys(
    harness: Harness, fake_redis: redis.Redis
):
    plans = {"groqCloud": Plan(), "pinecone": Plan(), "scheduler": Plan()}
    collector = harness.collector(plans, heartbeat_interval=0.2, heartbeat_ttl=5.0)
    collector.start()
    assert wait_until(lambda: all_recorded(harness.store, list(plans)))
    before = harness.store.read_many(list(plans))
    # Past the first heartbeats, which find no heartbeat there and republish nothing.
    time.sleep(0.5)

    fake_redis.flushall()

    assert wait_until(lambda: all_recorded(harness.store, list(plans)), 3.0)
    assert harness.store.read_many(list(plans)) == before
    assert [len(harness.calls[name].started) for name in plans] == [1, 1, 1]


def test_it_keeps_its_heartbeat_while_hung_probes_hold_every_worker(
    harness: Harness, fake_redis: redis.Redis
):
    hung = Plan(interval=60.0, timeout=30.0, takes=None)
    collector = harness.collector(
        {"first": hung, "second": hung}, heartbeat_interval=0.1, workers=1
    )
    collector.start()
    assert wait_until(lambda: harness.calls["first"].started)

    assert wait_until(lambda: fake_redis.exists(keys.HEARTBEAT), 3.0)
    fake_redis.delete(keys.HEARTBEAT)

    assert wait_until(lambda: fake_redis.exists(keys.HEARTBEAT), 3.0)
    # Only one worker: the second probe is still waiting for it.
    assert harness.calls["second"].started == []


def test_it_warns_at_start_when_another_collector_beats(
    harness: Harness, caplog: pytest.LogCaptureFixture
):
    other = harness.collector({"groqCloud": Plan()})
    other.beat()
    collector = harness.collector({"groqCloud": Plan()})

    collector.start()

    warnings = [
        line.getMessage()
        for line in caplog.records
        if line.name == "collector.daemon" and line.levelno == logging.WARNING
    ]
    assert len(warnings) == 1
    assert warnings[0].startswith("another collector seems to be running")
    assert f"pid={os.getpid()}" in warnings[0]
    assert f"host={socket.gethostname()}" in warnings[0]
    assert "both will write" in warnings[0]


def test_it_does_not_warn_of_itself_or_of_no_collector(
    harness: Harness, caplog: pytest.LogCaptureFixture
):
    collector = harness.collector({"groqCloud": Plan()})
    collector.start()
    assert wait_until(lambda: harness.store.heartbeat())
    collector.stop()

    assert not [
        line for line in caplog.records if "another collector" in line.getMessage()
    ]


def test_it_leaves_the_heartbeat_of_another_collector_on_stop(
    harness: Harness, fake_redis: redis.Redis
):
    first = harness.collector({"groqCloud": Plan()})
    first.start()
    assert wait_until(lambda: fake_redis.exists(keys.HEARTBEAT))
    second = harness.collector({"groqCloud": Plan()})
    second.beat()

    first.stop()

    heartbeat = harness.store.heartbeat()
    assert heartbeat is not None
    assert heartbeat["instance"] == second.instance != first.instance


@pytest.fixture
def wrong_index_store(real_redis: redis.Redis) -> Iterator[StatusStore]:
    """A store on the real Redis, at a database index the server does not have."""
    server = real_redis.connection_pool.connection_kwargs
    url = f"redis://{server['host']}:{server['port']}/4000"
    store = StatusStore(connect(url, timeout=1.0))
    yield store
    store.client.close()


@pytest.mark.integration
def test_it_runs_without_a_traceback_on_a_database_index_redis_refuses(
    wrong_index_store: StatusStore, caplog: pytest.LogCaptureFixture
):
    harness = Harness(wrong_index_store)
    try:
        collector = harness.collector({"groqCloud": Plan()}, heartbeat_interval=0.1)
        collector.start()
        assert wait_until(lambda: "groqCloud" in collector.recorder.latest())
        time.sleep(0.3)  # a few heartbeats, each failing
        collector.stop()
    finally:
        harness.close()

    assert not [line for line in caplog.records if line.exc_info]
    failing = [line for line in caplog.records if "redis failing" in line.getMessage()]
    assert len(failing) == 1
    assert "ResponseError: DB index is out of range" in failing[0].getMessage()


def test_it_refreshes_a_heartbeat_key_of_the_wrong_type(
    harness: Harness, fake_redis: redis.Redis, caplog: pytest.LogCaptureFixture
):
    fake_redis.rpush(keys.HEARTBEAT, "not", "json")
    collector = harness.collector({"groqCloud": Plan()})

    collector.start()

    assert wait_until(lambda: harness.store.heartbeat())
    assert not [line for line in caplog.records if line.exc_info]


# The `statusd collect` command, run as the Procfile runs it.


@pytest.fixture
def embedded_redis() -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis().start()
    yield server
    server.stop()


def write_config(path: Path, upstream: Upstream) -> Path:
    path.write_text(
        "[services.vendor]\n"
        'kind = "http"\n'
        f'url = "{upstream.url}/health"\n'
        "interval = 60\n"
        "timeout = 1\n"
    )
    return path


def start_collect(
    redis_url: str, config: Path, output: BinaryIO
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "STATUSD_CONFIG": str(config),
        "LOG_LEVEL": "INFO",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "statusd.cli", "collect"],
        env=env,
        cwd=ROOT,
        stdout=output,
        stderr=subprocess.STDOUT,
    )


@pytest.mark.parametrize(
    "stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"]
)
def test_collect_exits_cleanly_on_a_stop_signal_while_a_probe_hangs(
    stop_signal: signal.Signals,
    tmp_path: Path,
    embedded_redis: EmbeddedRedis,
    serve: Callable[[Behaviour], Upstream],
):
    upstream = serve(upstreams.hanging())
    config = write_config(tmp_path / "statusd.toml", upstream)
    store = StatusStore(connect(embedded_redis.url, timeout=1.0))
    log = tmp_path / "collect.log"
    with log.open("wb") as output:
        process = start_collect(embedded_redis.url, config, output)
        try:
            written = wait_until(lambda: store.read("vendor") is not None, 15.0)
            assert written, log.read_text()
            process.send_signal(stop_signal)
            code = process.wait(timeout=5)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()

    text = log.read_text()
    assert code == 0, text
    stored = store.read("vendor")
    assert isinstance(stored, StoredResult)
    assert stored.result.status is Status.DOWN
    assert "did not answer" in (stored.result.reason or "")
    assert "collector stopped" in text
    assert store.heartbeat() is None


def test_a_beat_after_a_long_outage_writes_every_result_again_once(
    harness: Harness, fake_redis: redis.Redis, monkeypatch: pytest.MonkeyPatch
):
    collector = harness.collector({"groqCloud": Plan(), "pinecone": Plan()})
    for name in ("groqCloud", "pinecone"):
        collector.recorder.record(name, ProbeResult.operational(7).stamped(utcnow()))
    collector.beat()
    # Redis away for longer than the heartbeat's TTL, and back empty.
    collector.recorder.redis_failed(redis.exceptions.ConnectionError("gone"))
    fake_redis.flushall()
    writes: list[list[StoredResult]] = []
    write_many = harness.store.write_many

    def counted(results: list[StoredResult]) -> None:
        writes.append(results)
        write_many(results)

    monkeypatch.setattr(harness.store, "write_many", counted)

    collector.beat()

    assert len(writes) == 1
    assert all_recorded(harness.store, ["groqCloud", "pinecone"])


def test_it_closes_its_store_after_forgetting_its_heartbeat(
    harness: Harness, fake_redis: redis.Redis, monkeypatch: pytest.MonkeyPatch
):
    collector = harness.collector({"groqCloud": Plan()})
    collector.start()
    assert wait_until(lambda: fake_redis.exists(keys.HEARTBEAT))
    steps: list[str] = []
    forget = harness.store.forget_heartbeat

    def forgetting(instance: str | None = None) -> None:
        steps.append("forget")
        forget(instance)

    monkeypatch.setattr(harness.store, "forget_heartbeat", forgetting)
    monkeypatch.setattr(fake_redis, "close", lambda: steps.append("close"))

    collector.stop()

    assert steps == ["forget", "close"]
    assert not fake_redis.exists(keys.HEARTBEAT)


@pytest.mark.parametrize(("interval", "jitter"), [(5.0, 0.5), (60.0, 2.0)])
def test_runs_of_one_interval_are_spread_by_a_small_jitter(
    harness: Harness, interval: float, jitter: float
):
    collector = harness.collector({"a": Plan(interval), "b": Plan(interval)})

    collector.start()

    for name in ("a", "b"):
        job = collector.scheduler.get_job(f"probe-{name}")
        assert job is not None
        assert job.trigger.jitter == pytest.approx(jitter)
