"""The whole product as the Procfile runs it: `statusd collect` and `statusd serve`.

Both run as separate processes against the real Redis; the host app's database is
a PostgreSQL schema with known rows, reached through a proxy that can freeze, and
the five vendors are local HTTP APIs that can hang.
"""

from __future__ import annotations

import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import hostapp
import pytest
import requests
import sqlalchemy as sa
from upstreams import FreezingProxy, Upstream

from shared import keys
from shared.model import StoredResult, from_iso

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
LATENCY = re.compile(r"^\d+ms$")
# How a probe stuck on a frozen database reads, whichever step it was stuck in.
HUNG = re.compile(r"timed out|timeout expired|still hung")
STOP_SECONDS = 15

VENDORS: dict[str, tuple[str, dict[str, Any], dict[str, str]]] = {
    # service: (path, JSON answer, measurement -> path in it)
    "instaGraphApi": ("/v25.0/me?fields=id", {"id": "17841400000000000"}, {}),
    "groqCloud": (
        "/openai/v1/models",
        {"object": "list", "data": [{"id": "llama-3.1-70b"}]},
        {"model": "data.0.id"},
    ),
    "pinecone": (
        "/indexes/social-vectors",
        {"name": "social-vectors", "totalVectorCount": 12847},
        {"index": "name", "total_vectors": "totalVectorCount"},
    ),
    "geminiApi": ("/v1beta/models", {"models": [{"name": "models/gemini-2.0"}]}, {}),
    "llumaAi": (
        "/v1/status",
        {"model": {"version": "2.4.1"}},
        {"model_version": "model.version"},
    ),
}
DB_SERVICES = {
    "webhooksConfig": "webhooks",
    "sqlDatabase": "sql",
    "scheduler": "scheduler",
    "automation": "automation",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_services_toml() -> list[str]:
    """List the TOML lines of the four services that read the host app's database."""
    lines = ["[collector]", "heartbeat_interval = 1", ""]
    for name, kind in DB_SERVICES.items():
        lines += [f"[services.{name}]", f'kind = "{kind}"']
        lines += ["interval = 2", "timeout = 1", ""]
    return lines


def toml_config(vendor_urls: dict[str, str]) -> str:
    """Write the TOML of the nine services, vendors as `http` probes of local URLs."""
    lines = database_services_toml()
    for name, (path, _answer, extract) in VENDORS.items():
        lines += [f"[services.{name}]", 'kind = "http"', "interval = 2", "timeout = 1"]
        lines.append(f'url = "{vendor_urls[name]}{path}"')
        if extract:
            pairs = ", ".join(f'{key} = "{value}"' for key, value in extract.items())
            lines.append(f"extract = {{ {pairs} }}")
        lines.append("")
    return "\n".join(lines)


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    stderr_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self) -> int | None:
        """Send SIGTERM and wait; return the exit code, None if it had to be killed."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            return None


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., Process]]:
    """Start `python -m statusd.cli ...`; whatever still runs at the end is stopped."""
    started: list[Process] = []

    def start(name: str, args: list[str], environ: dict[str, str]) -> Process:
        stderr_path = tmp_path / f"{name}.stderr"
        with (
            open(tmp_path / f"{name}.stdout", "wb") as out,
            open(stderr_path, "wb") as err,
        ):
            popen = subprocess.Popen(
                [sys.executable, "-m", "statusd.cli", *args],
                env=environ,
                cwd=ROOT,
                stdout=out,
                stderr=err,
            )
        process = Process(name, popen, stderr_path)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def product_environ(
    redis_url: str, config_path: Path, database_url: str
) -> dict[str, str]:
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("STATUSD_", "STATUS_API_KEY", "DATABASE_URL", "REDIS_URL")
        )
    }
    return environ | {
        "REDIS_URL": redis_url,
        "STATUSD_CONFIG": str(config_path),
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "INFO",
    }


def wait_for(
    condition: Callable[[], Any], seconds: float, what: str, *processes: Process
) -> Any:
    """Poll `condition` until it returns something true; fail naming `what`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for process in processes:
            if process.popen.poll() is not None:
                pytest.fail(f"{process.name} exited early:\n{process.stderr()[-3000:]}")
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    logs = "\n".join(f"--- {p.name}\n{p.stderr()[-3000:]}" for p in processes)
    pytest.fail(f"timed out waiting for {what}\n{logs}")


def get_status(base_url: str) -> requests.Response | None:
    try:
        return requests.get(f"{base_url}/api/system-status", timeout=2)
    except requests.ConnectionError:
        return None


# --- The host app's database and the upstreams.


@dataclass(frozen=True)
class KnownRows:
    newest_event: datetime
    newest_run: datetime
    next_run: datetime


def fill_host_app(url: str) -> KnownRows:
    """Create the host app's tables with rows whose measurements the test knows."""
    engine = sa.create_engine(url)
    tables = hostapp.create(engine)
    now = hostapp.now()
    # Instants sit mid-minute, so "5m ago" cannot tip into "6m ago" during the test.
    rows = KnownRows(
        newest_event=now - timedelta(minutes=5, seconds=30),
        newest_run=now - timedelta(minutes=10, seconds=30),
        next_run=now + timedelta(minutes=15, seconds=30),
    )
    hostapp.add_hooks(engine, tables, active=3, inactive=2)
    hostapp.add_events(engine, tables, [now - timedelta(hours=3), rows.newest_event])
    runs = [("success", rows.newest_run), ("success", now - timedelta(hours=2))]
    runs += [
        ("success", now - timedelta(hours=4)),
        ("failed", now - timedelta(hours=5)),
    ]
    runs += [("failed", now - timedelta(hours=30))] * 4
    hostapp.add_runs(engine, tables, runs)
    hostapp.add_jobs(
        engine,
        tables,
        {"digest": rows.next_run, "paused": None, "cleanup": now + timedelta(hours=2)},
    )
    engine.dispose()
    return rows


@pytest.fixture
def vendors() -> Iterator[dict[str, Upstream]]:
    upstreams = {name: Upstream(answer) for name, (_p, answer, _e) in VENDORS.items()}
    yield upstreams
    for upstream in upstreams.values():
        upstream.close()


@pytest.fixture
def database_proxy(pg_schema: tuple[str, str]) -> Iterator[tuple[FreezingProxy, str]]:
    """Yield a freezable proxy to PostgreSQL and the schema's URL through it."""
    url = sa.make_url(pg_schema[0])
    proxy = FreezingProxy((url.host or "127.0.0.1", url.port or 5432))
    yield (
        proxy,
        url.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False
        ),
    )
    proxy.close()


# --- (a) healthy upstreams, every value measured; (b) hung upstreams, a fast API.


def all_measured(base_url: str) -> dict[str, Any] | None:
    response = get_status(base_url)
    if response is None or response.status_code != 200:
        return None
    document = response.json()
    services = [*DB_SERVICES, *VENDORS]
    if all(document[name]["status"] == "operational" for name in services):
        return document
    return None


def all_down(base_url: str) -> dict[str, Any] | None:
    response = get_status(base_url)
    if response is None or response.status_code != 200:
        return None
    document = response.json()
    if all(document[name]["status"] == "down" for name in [*DB_SERVICES, *VENDORS]):
        return document
    return None


def assert_measured_from_sources(document: dict[str, Any], rows: KnownRows) -> None:
    now = from_iso(document["timestamp"])
    assert now is not None

    webhooks = document["webhooksConfig"]
    assert webhooks["activeHooks"] == 3
    minutes_since_event = int((now - rows.newest_event).total_seconds() // 60)
    assert webhooks["lastEvent"] == f"{minutes_since_event}m ago"

    automation = document["automation"]
    assert automation["successRate"] == "75%"
    minutes_since_run = int((now - rows.newest_run).total_seconds() // 60)
    assert automation["lastTriggered"] == f"{minutes_since_run}m ago"

    scheduler = document["scheduler"]
    assert scheduler["jobsQueued"] == 3
    minutes_until = math.ceil((rows.next_run - now).total_seconds() / 60)
    assert scheduler["nextRun"] == f"{minutes_until}m"

    database = document["sqlDatabase"]
    assert isinstance(database["activeConnections"], int)
    assert database["activeConnections"] >= 1

    for name in ["sqlDatabase", *VENDORS]:
        assert LATENCY.match(document[name]["latency"]), (name, document[name])
    assert document["groqCloud"]["model"] == "llama-3.1-70b"
    assert document["pinecone"]["index"] == "social-vectors"
    assert document["pinecone"]["totalVectors"] == "12,847"
    assert document["llumaAi"]["modelVersion"] == "2.4.1"


def hang_everything(vendors: dict[str, Upstream], proxy: FreezingProxy) -> None:
    for upstream in vendors.values():
        upstream.hang()
    proxy.freeze()


def time_requests(base_url: str, count: int) -> list[float]:
    durations = []
    for _ in range(count):
        started = time.perf_counter()
        response = requests.get(f"{base_url}/api/system-status", timeout=5)
        durations.append(time.perf_counter() - started)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/json")
    return durations


def test_the_procfile_processes_measure_everything_and_answer_fast_when_all_hangs(
    real_redis_url: str,
    pg_schema: tuple[str, str],
    database_proxy: tuple[FreezingProxy, str],
    vendors: dict[str, Upstream],
    spawn: Callable[..., Process],
    tmp_path: Path,
) -> None:
    proxy, proxied_url = database_proxy
    rows = fill_host_app(pg_schema[0])
    config = tmp_path / "statusd.toml"
    config.write_text(toml_config({name: up.url for name, up in vendors.items()}))
    environ = product_environ(real_redis_url, config, proxied_url)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"

    collector = spawn("collector", ["collect"], environ)
    api = spawn("api", ["serve", "--port", str(port), "--workers", "1"], environ)

    healthy = wait_for(
        lambda: all_measured(base_url), 30, "every service measured", collector, api
    )
    assert_measured_from_sources(healthy, rows)

    hang_everything(vendors, proxy)
    hung = wait_for(lambda: all_down(base_url), 30, "every probe hung", collector, api)
    durations = time_requests(base_url, 20)

    assert all(upstream.hung_requests for upstream in vendors.values())
    for name in DB_SERVICES:
        assert HUNG.search(hung[name]["reason"]), (name, hung[name])
    assert statistics.median(durations) < 0.1, durations
    assert max(durations) < 1.0, durations
    assert collector.stop() == 0, collector.stderr()[-3000:]
    assert api.stop() == 0, api.stderr()[-3000:]


# --- A database that is not there: one clear line per service, no traceback.

DOWN_LINE = re.compile(r"service=(\w+) status \S+ -> down: (.+)$", re.MULTILINE)


def test_the_collector_logs_a_missing_database_in_one_clear_line(
    real_redis, real_redis_url: str, spawn: Callable[..., Process], tmp_path: Path
) -> None:
    password = "hunter2-never-logged"
    config = tmp_path / "statusd.toml"
    config.write_text("\n".join(database_services_toml()))
    dead = f"postgresql://postgres:{password}@127.0.0.1:1/app"
    collector = spawn(
        "collector", ["collect"], product_environ(real_redis_url, config, dead)
    )

    def down_lines() -> dict[str, str] | None:
        found = dict(DOWN_LINE.findall(collector.stderr()))
        return found if set(found) == set(DB_SERVICES) else None

    reasons = wait_for(down_lines, 20, "four services logged down", collector)
    stored = {
        name: StoredResult.from_json(real_redis.get(keys.service(name)))
        for name in DB_SERVICES
    }
    exit_code = collector.stop()
    stderr = collector.stderr()

    assert exit_code == 0, stderr[-3000:]
    assert "Traceback" not in stderr
    assert password not in stderr
    for name, reason in reasons.items():
        assert "127.0.0.1" in reason and "Connection refused" in reason, reason
        assert stored[name].result.reason == reason
        assert stored[name].result.status.value == "down"
