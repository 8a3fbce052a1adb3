"""The `sql` probe against the real PostgreSQL and a SQLite file."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from collector.probes import Deadline
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
    """Count the sessions pg_stat_activity shows, asking from another database."""
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = :database AND backend_type = 'client backend'"
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
