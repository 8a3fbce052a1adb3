"""Every database probe when the host app's database cannot be reached at all."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from collector.probes import Deadline
from collector.runner import GRACE_SECONDS
from shared.model import Status

pytestmark = pytest.mark.integration

PASSWORD = "hunter2-not-for-logs"
DB_KINDS = ["sql", "webhooks", "automation", "scheduler"]
TIMEOUT = 3.0


def url_to(pg_engine: sa.Engine, **parts: object) -> str:
    url = pg_engine.url.set(password=PASSWORD, **parts)
    return url.render_as_string(hide_password=False)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """Yield a port that accepts connections and then never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    yield listener.getsockname()[1]
    listener.close()


def check_timed(make_probe, kind: str, url: str, timeout: float = TIMEOUT):
    probe = make_probe(kind, {"DATABASE_URL": url}, timeout=timeout)
    started = time.monotonic()
    result = probe.check(Deadline(timeout))
    return result, time.monotonic() - started


def assert_one_clear_line(reason: str | None) -> None:
    assert reason
    assert "\n" not in reason
    assert "Traceback" not in reason
    assert PASSWORD not in reason


@pytest.mark.parametrize("kind", DB_KINDS)
def test_it_is_down_when_nothing_listens(pg_engine, make_probe, kind: str) -> None:
    url = url_to(pg_engine, host="127.0.0.1", port=1)

    result, took = check_timed(make_probe, kind, url)

    assert result.status == Status.DOWN
    assert_one_clear_line(result.reason)
    assert "Connection refused" in result.reason
    assert took < TIMEOUT


@pytest.mark.parametrize("kind", DB_KINDS)
def test_it_is_down_when_the_database_does_not_exist(
    pg_engine, make_probe, kind: str
) -> None:
    url = url_to(pg_engine, database="statusd_no_such_database")

    result, took = check_timed(make_probe, kind, url)

    assert result.status == Status.DOWN
    assert_one_clear_line(result.reason)
    assert 'database "statusd_no_such_database" does not exist' in result.reason
    assert took < TIMEOUT


def test_it_gives_up_on_a_server_that_never_answers(
    pg_engine, make_probe, silent_port: int
) -> None:
    url = url_to(pg_engine, host="127.0.0.1", port=silent_port)

    result, took = check_timed(make_probe, "sql", url, timeout=1)

    # libpq waits forever by default; the connect timeout comes from the probe's, so
    # the driver's own reason arrives before the runner would cut the probe off.
    assert result.status == Status.DOWN
    assert_one_clear_line(result.reason)
    assert "timeout expired" in result.reason
    assert took < 1 + GRACE_SECONDS


@pytest.mark.parametrize(
    "url, problem",
    [
        (f"postgresql://postgres:{PASSWORD}@127.0.0.1:notaport/test", "notaport"),
        (f"nosuchdb://postgres:{PASSWORD}@127.0.0.1/test", "nosuchdb"),
    ],
)
@pytest.mark.parametrize("kind", DB_KINDS)
def test_it_is_down_naming_the_variable_when_the_url_is_unusable(
    make_probe, kind: str, url: str, problem: str
) -> None:
    result, _took = check_timed(make_probe, kind, url)

    assert result.status == Status.DOWN
    assert_one_clear_line(result.reason)
    assert "DATABASE_URL is not a usable database URL" in result.reason
    assert problem in result.reason
