"""Fixtures every test area uses: stores on fakeredis or the real Redis, and PostgreSQL.

Tests marked `integration` need the real servers (REDIS_TEST_URL, default
redis://127.0.0.1:6379/15; POSTGRES_TEST_URL, default postgresql://postgres@127.0.0.1:5432/test).
Locally they are skipped when a server does not answer; under CI (`CI=true`) they
fail instead, so a missing server can never pass for a green run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import fakeredis
import pytest
import redis
import sqlalchemy as sa

from shared import once
from shared.store import StatusStore

REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")
POSTGRES_TEST_URL = os.environ.get(
    "POSTGRES_TEST_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(what: str, error: Exception) -> None:
    message = f"{what} does not answer ({type(error).__name__}: {error})"
    if IN_CI:
        pytest.fail(f"{message}; CI must provide it", pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def fresh_warnings() -> None:
    """Each test starts as a fresh process would: no repeated problem logged yet."""
    once.forget()


@pytest.fixture
def fake_redis() -> redis.Redis:
    return fakeredis.FakeRedis(decode_responses=True)


@pytest.fixture
def fake_store(fake_redis: redis.Redis) -> StatusStore:
    return StatusStore(fake_redis)


@pytest.fixture
def real_redis() -> Iterator[redis.Redis]:
    """The real Redis, database 15, flushed before and after the test."""
    client = redis.Redis.from_url(
        REDIS_TEST_URL, decode_responses=True, socket_timeout=2
    )
    try:
        client.ping()
    except redis.exceptions.RedisError as error:
        unavailable(f"Redis at {REDIS_TEST_URL}", error)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def real_redis_url(real_redis: redis.Redis) -> str:
    return REDIS_TEST_URL


@pytest.fixture
def pg_engine() -> Iterator[sa.Engine]:
    engine = sa.create_engine(POSTGRES_TEST_URL)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as error:
        unavailable(f"PostgreSQL at {POSTGRES_TEST_URL}", error)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_schema(pg_engine: sa.Engine) -> Iterator[tuple[str, str]]:
    """A fresh PostgreSQL schema of its own: (database URL using it, schema name).

    The URL sets the schema as the connection's search_path, so the host app's
    default table names resolve inside it and tests never see each other's rows.
    """
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with pg_engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.make_url(POSTGRES_TEST_URL).update_query_dict(
        {"options": f"-csearch_path={schema}"}
    )
    yield url.render_as_string(hide_password=False), schema
    with pg_engine.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
