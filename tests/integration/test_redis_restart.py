"""A Redis restart under a running collector and API: a 503, then recovery, no restarts.

The collector and the API run in this process against a redis-server of the test's
own, which the test kills and starts again on the same port: it comes back empty.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import hostapp
import pytest
import redis
import sqlalchemy as sa

from api.app import create_app
from collector import probes
from collector.daemon import Collector
from shared.config import parse
from shared.store import StatusStore, connect

pytestmark = pytest.mark.integration

REDIS_SERVER = "/usr/bin/redis-server"

# What the known rows make of each service.
EXPECTED = {
    "sqlDatabase": "operational",
    "webhooksConfig": "operational",
    "automation": "degraded",
    "scheduler": "down",
}
KINDS = {
    "sqlDatabase": "sql",
    "webhooksConfig": "webhooks",
    "automation": "automation",
    "scheduler": "scheduler",
}


class RedisServer:
    """A redis-server without persistence: a restart brings it back empty."""

    def __init__(self, port: int, log_path: Path):
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [REDIS_SERVER, "--save", "", "--appendonly", "no"]
        command += ["--port", str(self.port), "--bind", "127.0.0.1"]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log)
        client = redis.Redis(port=self.port, socket_timeout=1)
        wait_for(lambda: _answers(client), 10, f"redis-server on port {self.port}")
        client.close()

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def _answers(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out after {seconds:g}s waiting for {what}")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if not shutil.which(REDIS_SERVER):
        # Like the shared fixtures: skipped locally, a failure where CI must have it.
        missing = f"{REDIS_SERVER} is not installed"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{missing}; CI must provide it", pytrace=False)
        pytest.skip(missing)
    server = RedisServer(free_port(), tmp_path / "redis.log")
    server.start()
    yield server
    server.kill()


def fill_host_app(url: str) -> None:
    """Insert rows that give one status of each kind: healthy, degraded and down."""
    engine = sa.create_engine(url)
    tables = hostapp.create(engine)
    now = hostapp.now()
    hostapp.add_hooks(engine, tables, active=2, inactive=0)
    hostapp.add_events(engine, tables, [now - timedelta(minutes=3)])
    failures = [("failed", now - timedelta(minutes=5))] * 6
    hostapp.add_runs(engine, tables, [*failures, ("success", now - timedelta(hours=2))])
    hostapp.add_jobs(engine, tables, {"digest": now - timedelta(minutes=20)})
    engine.dispose()


@pytest.fixture
def collector(pg_schema, redis_server: RedisServer) -> Iterator[Collector]:
    """Run a collector whose probes each run once at start, then not for a minute.

    Whatever reaches the restarted Redis within the test then comes from the
    collector's memory (heartbeat and republish), not from a fresh probe.
    """
    url, _schema = pg_schema
    fill_host_app(url)
    services = {
        name: {"kind": kind, "interval": 60, "timeout": 2}
        for name, kind in KINDS.items()
    }
    document = {"collector": {"heartbeat_interval": 0.5}, "services": services}
    config = parse(document, "test", probes.option_models())
    store = StatusStore(connect(redis_server.url, timeout=1))
    running = Collector(
        config, store, probes.ProbeContext(environ={"DATABASE_URL": url})
    )
    running.start()
    yield running
    running.stop()


def statuses(client: Any) -> dict[str, str] | None:
    response = client.get("/api/system-status")
    if response.status_code != 200:
        return None
    document = response.get_json()
    found = {name: document[name]["status"] for name in EXPECTED}
    return found if found == EXPECTED else None


def logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return any(text in record.getMessage() for record in caplog.records)


def test_it_survives_a_redis_restart_and_writes_everything_back(
    collector: Collector, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="collector")
    api_store = StatusStore(connect(redis_server.url, timeout=1))
    client = create_app(collector.config, api_store).test_client()
    wait_for(lambda: statuses(client), 10, "the first results")
    # Stored instants keep whole seconds.
    probed_at = {
        name: stored.result.checked_at.replace(microsecond=0)
        for name, stored in collector.recorder.latest().items()
    }

    redis_server.kill()
    outage = client.get("/api/system-status")

    assert outage.status_code == 503
    assert outage.get_json()["error"] == "status store unreachable"
    wait_for(lambda: logged(caplog, "redis unreachable"), 5, "the heartbeat to fail")
    time.sleep(1)  # a few more heartbeats against the dead port
    assert collector.scheduler.running

    redis_server.start()
    recovered = wait_for(lambda: statuses(client), 5, "results written back")

    assert recovered == EXPECTED
    assert api_store.heartbeat() is not None
    assert logged(caplog, "latest results to Redis again")
    # Written back from memory: no probe ran again since the first round.
    again = api_store.read_many(list(KINDS))
    assert {name: item.result.checked_at for name, item in again.items()} == probed_at
