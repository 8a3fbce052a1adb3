"""The `sql` probe against the real PostgreSQL and a SQLite file."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from collector.probes import Deadline
from collector.probes import sql as sql_probe
from shared.model import Status

pytestmark = pytest.mark.integration


@pytest.fixture
def own_database(pg_engine: sa.Engine) -> Iterator[sa.URL]:
    """Yield a database of this test alone, so that no other test's sessions count."""
    name = f"statusd_{uuid.uuid4().hex[:12]}"
    autocommit = pg_engine.execution_options(isolation_level="AUTOCOMMIT")
    with autocommit.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield pg_engine.url.set(database=name)
    with autocommit.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))


def client_backends(observer: sa.Engine, database: str) -> int:
    """Count the app's sessions pg_stat_activity shows, asking from another database.

    statusd's own sessions (application_name "statusd") are not the app's.
    """
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = :database AND backend_type = 'client backend'"
        " AND application_name IS DISTINCT FROM 'statusd'"
    )
    with observer.connect() as connection:
        return int(connection.execute(query, {"database": database}).scalar_one())


def as_text(url: sa.URL) -> str:
    return url.render_as_string(hide_password=False)


def test_it_counts_the_sessions_pg_stat_activity_shows(
    own_database: sa.URL, pg_engine: sa.Engine, make_probe
) -> None:
    probe = make_probe("sql", {"DATABASE_URL": as_text(own_database)})

    alone = probe.check(Deadline(5))

    assert alone.status == Status.OPERATIONAL
    assert isinstance(alone.latency_ms, int) and alone.latency_ms >= 0
    assert alone.values["active_connections"] == client_backends(
        pg_engine, own_database.database
    )

    others = sa.create_engine(own_database, poolclass=sa.pool.NullPool)
    with contextlib.ExitStack() as stack:
        for _ in range(2):
            stack.enter_context(others.connect()).execute(sa.text("SELECT 1"))
        crowded = probe.check(Deadline(5))
        seen = client_backends(pg_engine, own_database.database)
    others.dispose()

    assert (
        crowded.values["active_connections"] == alone.values["active_connections"] + 2
    )
    assert crowded.values["active_connections"] == seen


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_it_accepts_the_plain_postgres_urls_host_apps_use(
    pg_engine: sa.Engine, run_probe, scheme: str
) -> None:
    # Heroku hands out postgres://; SQLAlchemy 2.1 reads postgresql:// as psycopg 3.
    url = as_text(pg_engine.url.set(drivername=scheme))

    result = run_probe("sql", {"DATABASE_URL": url})

    assert result.status == Status.OPERATIONAL, result.reason
    assert result.values["active_connections"] >= 1


def test_it_measures_a_sqlite_round_trip_without_counting_sessions(
    tmp_path, run_probe
) -> None:
    url = f"sqlite:///{tmp_path / 'host.sqlite3'}"

    result = run_probe("sql", {"DATABASE_URL": url})

    assert result.status == Status.OPERATIONAL, result.reason
    assert isinstance(result.latency_ms, int)
    assert result.values == {"active_connections": None}


def test_it_reads_the_url_from_the_configured_variable(
    pg_engine: sa.Engine, run_probe
) -> None:
    environ = {"REPLICA_URL": as_text(pg_engine.url), "DATABASE_URL": "sqlite://"}

    result = run_probe("sql", environ, url_env="REPLICA_URL")

    assert result.status == Status.OPERATIONAL, result.reason
    assert isinstance(result.values["active_connections"], int)


def test_a_slow_round_trip_is_degraded_with_its_latency(
    pg_engine: sa.Engine, run_probe, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same round trip, held 50 ms by the server itself.
    monkeypatch.setattr(sql_probe, "ROUND_TRIP", "SELECT 1 FROM pg_sleep(0.05)")

    result = run_probe("sql", {"DATABASE_URL": as_text(pg_engine.url)}, degraded_ms=10)

    assert result.status == Status.DEGRADED
    assert isinstance(result.latency_ms, int) and result.latency_ms >= 50
    assert result.reason == f"slow: {result.latency_ms}ms, above 10ms"
    assert isinstance(result.values["active_connections"], int)


@pytest.fixture
def role_without_rights(pg_engine: sa.Engine, own_database: sa.URL) -> Iterator[sa.URL]:
    """Yield a URL of `own_database` for a role that may not read pg_stat_activity.

    The view is granted to everyone by default; the grant is taken back in this
    test's own database only, and the role dropped afterwards.
    """
    role = f"statusd_{uuid.uuid4().hex[:12]}"
    autocommit = pg_engine.execution_options(isolation_level="AUTOCOMMIT")
    with autocommit.connect() as connection:
        connection.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
    owner = sa.create_engine(own_database, poolclass=sa.pool.NullPool)
    with owner.begin() as connection:
        connection.execute(sa.text("REVOKE SELECT ON pg_stat_activity FROM PUBLIC"))
    owner.dispose()
    yield own_database.set(username=role)
    with autocommit.connect() as connection:
        connection.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE usename = :role"
            ),
            {"role": role},
        )
        connection.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))


def test_a_role_that_cannot_count_sessions_still_gets_a_status_warned_once(
    role_without_rights: sa.URL, make_probe, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="collector.probes.sql")
    probe = make_probe("sql", {"DATABASE_URL": as_text(role_without_rights)})

    results = [probe.check(Deadline(5)) for _ in range(3)]

    for result in results:
        assert result.status == Status.OPERATIONAL, result.reason
        assert result.values == {"active_connections": None}
    warnings = [
        line.getMessage()
        for line in caplog.records
        if line.name == "collector.probes.sql" and line.levelno == logging.WARNING
    ]
    assert len(warnings) == 1
    assert warnings[0].startswith("service=probed cannot count sessions: ")
    assert "permission denied" in warnings[0]


def test_a_failed_count_leaves_its_connection_usable(
    role_without_rights: sa.URL, make_probe
) -> None:
    probe = make_probe("sql", {"DATABASE_URL": as_text(role_without_rights)})

    with probe.engine().connect() as connection:
        count = probe.count_sessions(connection)
        # Without the rollback PostgreSQL refuses this: the transaction is aborted.
        after = connection.execute(sa.text("SELECT 2")).scalar_one()

    assert count is None
    assert after == 2
