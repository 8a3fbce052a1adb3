"""Measure that a status request never waits on an outside call.

Run from the repository root, with statusd installed (`pip install -e .`):
`python benchmarks/bench_api.py` (`--help` for the knobs).

This process runs the API on a real socket and a Collector probing nine `http`
services, all pointed at one local upstream (in a child process) whose behaviour
the script switches between three modes:

1. healthy: the upstream answers at once;
2. hung: every call hangs until the probe's timeout gives up on it;
3. slow: every call takes `--slow-ms` (300 ms by default).

It times `--requests` requests to `/api/system-status` over HTTP in each mode,
split into interleaved rounds, then calls the slow upstream directly. It prints
p50/p95/max, the ratio hung/healthy (about 1.0 when a request is decoupled from
the probes) and the ratio direct/API. Redis is `REDIS_URL` when set (an empty
scratch database: the run refuses one holding statusd keys, and deletes its own
keys at the end), else an embedded fakeredis. Everything stays on loopback and
the run stops by itself.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import multiprocessing
import os
import platform
import select
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path

import redis
import requests

from shared import keys
from shared.config import Config, Settings
from shared.fields import CONTRACT_FIELDS
from shared.store import StatusStore, connect
from statusd.embedded import EmbeddedRedis
from statusd.server import BackgroundServer
from statusd.wiring import build_api, build_collector, load_config

SERVICES = tuple(CONTRACT_FIELDS)  # the widget's nine

# A hung upstream call is let go after this long at most, so no thread outlives a run.
HANG_LIMIT_S = 30.0

WARM_UP_REQUESTS = 20

MODES = ("healthy", "hang", "slow")


# The upstream -------------------------------------------------------------------


class Upstream:
    """The nine services' stand-in: one local HTTP server in a process of its own.

    Its own process, as a real vendor is elsewhere: its threads must not compete
    with the API's for this interpreter. The mode and the count of calls it holds
    open live in shared memory, so this process switches and reads them cheaply.
    """

    def __init__(self, slow_s: float):
        self.slow_s = slow_s
        self._mode = multiprocessing.Value("i", 0)
        self._held = multiprocessing.Value("i", 0)
        self.release = multiprocessing.Event()
        self.process: multiprocessing.Process | None = None

    @property
    def mode(self) -> str:
        return MODES[self._mode.value]

    @property
    def held(self) -> int:
        return int(self._held.value)

    def switch(self, mode: str) -> None:
        self.release.clear()
        self._mode.value = MODES.index(mode)

    def let_go(self) -> None:
        """Free every hung call now."""
        self.release.set()

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        with self._held.get_lock():
            self._held.value += 1
        try:
            yield
        finally:
            with self._held.get_lock():
                self._held.value -= 1

    def start(self) -> str:
        """Start the server process; return its URL."""
        receiving, sending = multiprocessing.Pipe(duplex=False)
        self.process = multiprocessing.Process(
            target=self._serve, args=(sending,), name="upstream", daemon=True
        )
        self.process.start()
        if not receiving.poll(10):
            raise RuntimeError("the upstream process did not start within 10 s")
        return f"http://127.0.0.1:{receiving.recv()}"

    def stop(self) -> None:
        self.let_go()
        if self.process is not None:
            self.process.terminate()
            self.process.join(5)

    def _serve(self, sending: Connection) -> None:
        server = UpstreamServer(self)
        sending.send(server.server_address[1])
        server.serve_forever()


class UpstreamHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: UpstreamServer

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in two writes; without this, Nagle's algorithm and
        # delayed ACKs add ~40 ms to every direct call and blur the comparison.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        upstream = self.server.upstream
        if upstream.mode == "hang":
            self.close_connection = True
            with upstream.holding():
                self._hang(upstream.release)
            return
        with upstream.holding():
            if upstream.mode == "slow":
                time.sleep(upstream.slow_s)
            self._answer()

    def _hang(self, release: Event) -> None:
        """Send nothing until released, or until the caller gives up and hangs up."""
        deadline = time.monotonic() + HANG_LIMIT_S
        while not release.is_set() and time.monotonic() < deadline:
            readable, _, _ = select.select([self.connection], [], [], 0.1)
            if readable and not self.connection.recv(1, socket.MSG_PEEK):
                return

    def _answer(self) -> None:
        body = json.dumps({"ok": True, "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per probe would bury the table


class UpstreamServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: Upstream):
        super().__init__(("127.0.0.1", 0), UpstreamHandler)
        self.upstream = upstream


# Measuring ------------------------------------------------------------------------


@dataclass
class Sample:
    label: str
    latencies_ms: list[float]
    errors: int = 0
    held: list[int] = field(default_factory=list)
    store: str = ""

    def pct(self, share: float) -> float:
        """The nearest-rank percentile, `share` in (0, 1]."""
        ordered = sorted(self.latencies_ms)
        return ordered[max(1, math.ceil(share * len(ordered))) - 1]

    def absorb(self, other: Sample) -> None:
        self.latencies_ms += other.latencies_ms
        self.held += other.held
        self.errors += other.errors
        self.store = other.store

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p95(self) -> float:
        return self.pct(0.95)

    @property
    def max(self) -> float:
        return max(self.latencies_ms)


def time_calls(
    label: str, url: str, count: int, pace_s: float, upstream: Upstream | None = None
) -> Sample:
    """Time `count` GETs to `url`, one at a time; note the calls `upstream` holds."""
    sample = Sample(label, [])
    with requests.Session() as session:
        session.trust_env = False
        for number in range(WARM_UP_REQUESTS + count):
            started = time.perf_counter()
            response = session.get(url, timeout=10)
            elapsed_ms = (time.perf_counter() - started) * 1000
            if number >= WARM_UP_REQUESTS:
                sample.latencies_ms.append(elapsed_ms)
                if upstream is not None:
                    sample.held.append(upstream.held)
                sample.errors += response.status_code != 200
            time.sleep(pace_s)
    return sample


def api_phases(bench: Bench, args: argparse.Namespace) -> list[Sample]:
    """Time the API in each mode, in interleaved rounds so drift hits all alike."""
    modes = {
        "healthy": "API, upstreams healthy",
        "hang": "API, every upstream hung",
        "slow": f"API, upstreams slow ({args.slow_ms} ms)",
    }
    merged = {mode: Sample(label, []) for mode, label in modes.items()}
    share, extra = divmod(args.requests, args.rounds)
    for round_number in range(args.rounds):
        count = share + (round_number < extra)
        for mode, label in modes.items():
            merged[mode].absorb(api_phase(label, mode, count, bench, args))
    return list(merged.values())


def api_phase(
    label: str, mode: str, count: int, bench: Bench, args: argparse.Namespace
) -> Sample:
    """Time `count` API requests while a fresh Collector probes the upstream in `mode`."""
    bench.upstream.switch(mode)
    collector = build_collector(bench.config, bench.redis_url, environ={})
    collector.start()
    try:
        # Let the first round of probes reach the upstream before timing starts.
        time.sleep(args.settle)
        url = f"{bench.api.url}/api/system-status"
        sample = time_calls(label, url, count, args.pace_ms / 1000, bench.upstream)
        sample.store = describe_store(bench.store)
    finally:
        bench.upstream.let_go()
        collector.stop()
    return sample


def direct_phase(bench: Bench, args: argparse.Namespace) -> Sample:
    bench.upstream.switch("slow")
    url = f"{bench.upstream_url}/direct"
    label = f"direct call, slow upstream ({args.slow_ms} ms)"
    return time_calls(label, url, args.direct, 0.0)


def describe_store(store: StatusStore) -> str:
    """What the collector left in Redis: proof the phase was what it claims."""
    counts: dict[str, int] = {}
    for stored in store.read_many(list(SERVICES)).values():
        status = stored.result.status.value if stored else "none"
        counts[status] = counts.get(status, 0) + 1
    return ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))


# Wiring -------------------------------------------------------------------------


@dataclass
class Bench:
    config: Config
    redis_url: str
    store: StatusStore
    api: BackgroundServer
    upstream: Upstream
    upstream_url: str


def write_config(folder: Path, upstream_url: str, args: argparse.Namespace) -> Path:
    lines = []
    for name in SERVICES:
        lines += [
            f"[services.{name}]",
            'kind = "http"',
            f'url = "{upstream_url}/{name}"',
            f"interval = {args.interval}",
            f"timeout = {args.timeout}",
            "",
        ]
    path = folder / "bench.toml"
    path.write_text("\n".join(lines))
    return path


def refuse_a_used_redis(url: str) -> None:
    """Stop before writing into a Redis that already holds statusd's keys."""
    client = redis.Redis.from_url(url, socket_timeout=2)
    try:
        found = next(client.scan_iter(match=f"{keys.PREFIX}:*", count=1000), None)
    finally:
        client.close()
    if found is not None:
        sys.exit(
            f"bench: {url} already holds statusd keys (e.g. {found!r}); "
            "point REDIS_URL at an empty scratch database"
        )


def forget_our_keys(store: StatusStore) -> None:
    names = [keys.service(name) for name in SERVICES]
    store.client.delete(*names, keys.EVENTS, keys.HEARTBEAT)


@contextlib.contextmanager
def running(args: argparse.Namespace) -> Iterator[Bench]:
    """Start Redis (unless given), the upstream and the API; stop them all after."""
    with contextlib.ExitStack() as stack:
        redis_url = os.environ.get("REDIS_URL") or start_embedded_redis(stack)
        if os.environ.get("REDIS_URL"):
            refuse_a_used_redis(redis_url)

        upstream = Upstream(slow_s=args.slow_ms / 1000)
        upstream_url = upstream.start()
        stack.callback(upstream.stop)
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        config = load_config(str(write_config(folder, upstream_url, args)), environ={})

        store = StatusStore(connect(redis_url))
        stack.callback(forget_our_keys, store)
        settings = Settings(
            redis_url=redis_url, api_key=None, port=0, log_level="ERROR"
        )
        api = BackgroundServer(build_api(config, redis_url, settings), "127.0.0.1", 0)
        stack.callback(api.start().stop)
        yield Bench(config, redis_url, store, api, upstream, upstream_url)


def start_embedded_redis(stack: contextlib.ExitStack) -> str:
    embedded = EmbeddedRedis().start()
    stack.callback(embedded.stop)
    return embedded.url


# The table ------------------------------------------------------------------------


def print_report(
    samples: list[Sample], args: argparse.Namespace, redis_url: str
) -> None:
    where = redis_url if os.environ.get("REDIS_URL") else "embedded fakeredis"
    print(
        f"statusd API benchmark: Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, Redis: {where}"
    )
    print(
        f"9 http services, probe interval {args.interval}s, timeout {args.timeout}s; "
        f"{args.requests} API requests per phase in {args.rounds} interleaved rounds, "
        f"one every ~{args.pace_ms:g} ms"
    )
    print()
    header = (
        f"{'phase':<36} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
        f"{'held':>5}  store after"
    )
    print(header)
    print("-" * len(header))
    for sample in samples:
        held = f"{statistics.fmean(sample.held):.1f}" if sample.held else "-"
        errors = f"  ({sample.errors} errors)" if sample.errors else ""
        line = (
            f"{sample.label:<36} {len(sample.latencies_ms):>4} {sample.p50:>8.2f} "
            f"{sample.p95:>8.2f} {sample.max:>8.2f} {held:>5}  {sample.store}{errors}"
        )
        print(line.rstrip())
    print()
    print("held: calls the upstream was holding open at each API request (mean)")
    print_ratios(samples)


def print_ratios(samples: list[Sample]) -> None:
    healthy, hung, slow, direct = samples
    print(
        "ratio hung/healthy:  "
        f"p50 {hung.p50 / healthy.p50:.2f}  "
        f"p95 {hung.p95 / healthy.p95:.2f}  "
        f"max {hung.max / healthy.max:.2f}"
    )
    print(
        "ratio direct/API:    "
        f"p50 {direct.p50 / slow.p50:.0f}x  "
        f"(direct {direct.p50:.1f} ms, API {slow.p50:.2f} ms)"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="per API phase")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="interleaved rounds the requests split into",
    )
    parser.add_argument("--direct", type=int, default=30, help="direct upstream calls")
    parser.add_argument(
        "--pace-ms", type=float, default=10, help="pause between requests"
    )
    parser.add_argument(
        "--slow-ms", type=int, default=300, help="the slow upstream's delay"
    )
    parser.add_argument("--interval", type=float, default=2, help="probe interval, s")
    parser.add_argument("--timeout", type=float, default=1.5, help="probe timeout, s")
    parser.add_argument(
        "--settle", type=float, default=0.5, help="s before timing starts"
    )
    parser.add_argument("--verbose", action="store_true", help="show statusd's logs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    level = logging.INFO if args.verbose else logging.ERROR
    logging.basicConfig(level=level, format="%(name)s %(levelname)s %(message)s")
    # Werkzeug adds its own INFO handler unless its logger has a level of its own.
    logging.getLogger("werkzeug").setLevel(level)
    with running(args) as bench:
        samples = [*api_phases(bench, args), direct_phase(bench, args)]
        print_report(samples, args, bench.redis_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
