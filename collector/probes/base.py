"""What every probe is: a kind name, an options model, and `check()` returning a result.

A probe measures one service. It returns a `ProbeResult` for every outcome it
understands (a rejected credential is a `down` result, not an exception). Anything
it does not understand may raise: the runner turns that into `down` too, so a
buggy probe never stops the collector.
"""

from __future__ import annotations

import abc
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

import redis
import sqlalchemy as sa
from pydantic import BaseModel

from shared.config import ServiceConfig, Strict
from shared.model import ProbeResult
from shared.redact import read_secret
from shared.store import StatusStore, connect

# What one measured value may be. An object or a list could hold anything a vendor
# put there, a credential it echoes back included, and `scrub` reads only text.
SCALAR = (str, int, float, bool, type(None))

# How our own database sessions name themselves, so that counts can leave them out.
APPLICATION_NAME = "statusd"


class Deadline:
    """A probe's time budget, so that a retry never runs past the hard timeout."""

    def __init__(self, seconds: float):
        self._ends = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self._ends - time.monotonic())

    def expired(self) -> bool:
        return self.remaining() <= 0


class MissingSetting(Exception):
    """A variable the probe needs is not set: the service reads `unknown`, not `down`."""

    def __init__(self, variable: str):
        super().__init__(f"{variable} is not set")
        self.variable = variable


def unconfigured(missing: MissingSetting, **values: Any) -> ProbeResult:
    """The `unknown` result of a check that cannot run for want of a variable."""
    return ProbeResult.unknown(f"not configured: {missing}", **values)


@dataclass
class ProbeContext:
    """What probes share: the environment and connections that are costly to open.

    Engines and clients are made once per URL and timeout, and reused by every probe
    run, so a probe measures the service, not our connection set-up. The timeout is
    part of the key because it is built into the connection (statement_timeout, socket
    timeouts): services sharing a URL must not share the first one's limits.
    """

    environ: Mapping[str, str]
    store: StatusStore | None = None
    _engines: dict[tuple[str, float], sa.Engine] = field(default_factory=dict)
    _redis: dict[tuple[str, float], redis.Redis] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def secret(self, variable: str) -> str:
        """A credential from the environment, remembered for scrubbing; raise if unset."""
        value = read_secret(self.environ, variable)
        if value is None:
            raise MissingSetting(variable)
        return value

    def engine(self, url_variable: str, timeout: float) -> sa.Engine:
        """Return the engine of the URL in `url_variable`; ArgumentError if unusable."""
        url = self.secret(url_variable)
        with self._lock:
            if (url, timeout) not in self._engines:
                self._engines[url, timeout] = _engine_for(url_variable, url, timeout)
            return self._engines[url, timeout]

    def redis_client(self, url_variable: str, timeout: float) -> redis.Redis:
        url = self.secret(url_variable)
        with self._lock:
            if (url, timeout) not in self._redis:
                self._redis[url, timeout] = connect(url, timeout=timeout)
            return self._redis[url, timeout]

    def close(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.dispose()
            for client in self._redis.values():
                client.close()
            self._engines.clear()
            self._redis.clear()


def _engine_for(url_variable: str, url: str, timeout: float) -> sa.Engine:
    try:
        return make_engine(url, timeout)
    except (sa.exc.ArgumentError, ValueError, ImportError) as error:
        # A bad port, an unknown scheme or a driver not installed: a SQLAlchemyError
        # the probes report as `down`, naming the variable but never the URL.
        raise sa.exc.ArgumentError(
            f"{url_variable} is not a usable database URL ({error})"
        ) from None


# Host apps hand out bare `postgresql://` URLs, or Heroku's `postgres://`. SQLAlchemy
# 2.1 reads the first as psycopg 3 and rejects the second; the driver we install is
# psycopg2, so both are pinned to it.
PINNED_DRIVERS = {
    "postgres": "postgresql+psycopg2",
    "postgresql": "postgresql+psycopg2",
}


def make_engine(url: str, timeout: float) -> sa.Engine:
    """An engine whose connect and statements give up within the probe's timeout."""
    engine_url = sa.make_url(url)
    if engine_url.drivername in PINNED_DRIVERS:
        engine_url = engine_url.set(drivername=PINNED_DRIVERS[engine_url.drivername])
    connect_args: dict[str, Any] = {}
    if engine_url.get_backend_name() == "postgresql":
        millis = int(timeout * 1000)
        limits = f"-c statement_timeout={millis} -c lock_timeout={millis}"
        connect_args = {
            "connect_timeout": max(1, int(timeout)),
            # Appended to, not replacing, any `options` the URL already carries.
            # A URL naming `options` once gives text; only a repeated one gives a tuple.
            "options": " ".join(
                filter(
                    None, [cast(str | None, engine_url.query.get("options")), limits]
                )
            ),
            "application_name": APPLICATION_NAME,
            # A database host that vanished without a reset (crash, partition) would
            # leave a probe waiting on its socket for hours, the service reading
            # "still hung" long after a failover; with these the kernel gives up in
            # seconds. A server alive but stuck still holds the probe: the runner's
            # hard timeout is what covers that.
            "keepalives": 1,
            "keepalives_idle": max(1, int(timeout)),
            "keepalives_interval": 1,
            "keepalives_count": 3,
            "tcp_user_timeout": millis,
        }
    elif engine_url.get_backend_name() == "sqlite":
        connect_args = {"timeout": timeout, "check_same_thread": False}
    elif engine_url.get_backend_name() in ("mysql", "mariadb"):
        connect_args = {"connect_timeout": max(1, int(timeout))}
    return _create(engine_url, connect_args, timeout)


# One engine serves every service with the same URL and timeout: four in the default
# configuration (sql, webhooks, automation, scheduler), all first run at the same
# instant, plus a hung run's connection kept until its thread ends. Five kept open
# and five more on demand cover that with room to spare, so no probe waits on our
# own pool and reports that wait as the database's timeout.
POOL_SIZE = 5
POOL_OVERFLOW = 5


def _create(
    engine_url: sa.URL, connect_args: dict[str, Any], timeout: float
) -> sa.Engine:
    if engine_url.get_backend_name() == "sqlite":
        return sa.create_engine(engine_url, connect_args=connect_args)
    # Pre-ping turns a connection left dead by a database restart into a fresh one
    # instead of a false "down". A probe waits for a free connection no longer than
    # it may take in all (SQLAlchemy's default would be 30 s).
    return sa.create_engine(
        engine_url,
        connect_args=connect_args,
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_timeout=timeout,
        pool_pre_ping=True,
        pool_recycle=300,
    )


class Probe(abc.ABC):
    kind: ClassVar[str]
    Options: ClassVar[type[BaseModel]] = Strict

    def __init__(self, service: ServiceConfig, context: ProbeContext):
        self.service = service
        self.options: Any = service.options
        self.context = context

    @abc.abstractmethod
    def check(self, deadline: Deadline) -> ProbeResult:
        """Measure the service once, within `deadline`."""

    def close(self) -> None:  # noqa: B027 - optional: most probes hold nothing
        """Release what the probe holds (sessions, sockets); called at shutdown."""


def elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def slow(latency_ms: int, threshold_ms: int) -> str:
    """The degraded finding of a check slower than its threshold."""
    return f"slow: {latency_ms}ms, above {threshold_ms}ms"


def http_url(url: str) -> str:
    """Accept an http:// or https:// URL; raise ValueError for anything else."""
    if not url.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return url


def dig(document: Any, path: str) -> tuple[bool, Any]:
    """Follow `a.b.0.c` through objects and lists; (False, None) where it breaks off."""
    current = document
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return False, None
    return True, current


def summary(error: Exception) -> str:
    """The error's class and the first line of its message, for a reason or a log."""
    lines = str(error).strip().splitlines()
    if not lines:
        return type(error).__name__
    return f"{type(error).__name__}: {lines[0][:200]}"
