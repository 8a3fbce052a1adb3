"""Check that every failure of the API answers JSON, and that it recovers from Redis loss."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from api.app import RETRY_AFTER, create_app
from shared import config as configuration
from shared.config import Config
from shared.store import StatusStore, connect
from statusd.embedded import EmbeddedRedis

NOW = datetime(2025, 12, 28, 10, 30, tzinfo=UTC)


@pytest.fixture
def config() -> Config:
    return configuration.load(environ={})


@pytest.fixture
def client(config: Config, fake_store: StatusStore) -> FlaskClient:
    return create_app(config, fake_store, clock=lambda: NOW).test_client()


@pytest.fixture
def dead_store() -> Iterator[StatusStore]:
    """A store whose Redis refuses every connection (nothing listens on port 1)."""
    store = StatusStore(connect("redis://127.0.0.1:1/0", timeout=1.0))
    yield store
    store.client.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def assert_unreachable_answer(response: TestResponse) -> None:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(RETRY_AFTER)
    assert response.get_json()["error"] == "status store unreachable"


def test_an_unknown_path_answers_json_404(client: FlaskClient) -> None:
    response = client.get("/api/nothing-here")

    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert response.get_json()["error"] == "Not Found"


def test_a_post_answers_json_405_and_says_what_is_allowed(client: FlaskClient) -> None:
    response = client.post("/api/system-status", json={})

    assert response.status_code == 405
    assert response.mimetype == "application/json"
    assert response.get_json()["error"] == "Method Not Allowed"
    assert "GET" in response.headers["Allow"]


def test_an_unreachable_redis_answers_503_with_retry_after_at_once(
    config: Config, dead_store: StatusStore
) -> None:
    client = create_app(config, dead_store, clock=lambda: NOW).test_client()

    started = time.monotonic()
    response = client.get("/api/system-status")
    took = time.monotonic() - started

    assert_unreachable_answer(response)
    # The brief asks for a fast refusal: a refused connection must not wait for
    # timeouts or retries with back-off (a generous bound, far below any of those).
    assert took < 1.0


def test_a_redis_timeout_answers_503(config: Config, fake_store: StatusStore) -> None:
    def time_out(services: list[str]) -> None:
        raise redis.exceptions.TimeoutError("Timeout reading from socket")

    fake_store.read_many = time_out  # type: ignore[method-assign]
    client = create_app(config, fake_store).test_client()

    assert_unreachable_answer(client.get("/api/system-status"))


def test_the_api_recovers_once_redis_is_back_without_a_restart(config: Config) -> None:
    port = free_port()
    first = EmbeddedRedis(port=port).start()
    store = StatusStore(connect(first.url, timeout=1.0))
    app = create_app(config, store, clock=lambda: NOW)
    client = app.test_client()
    running = [first]
    try:
        before = client.get("/api/system-status").status_code
        running.pop().stop()
        during = client.get("/api/system-status")
        running.append(EmbeddedRedis(port=port).start())
        after = client.get("/api/system-status").status_code
    finally:
        for server in running:
            server.stop()
        store.client.close()

    assert before == 200
    assert_unreachable_answer(during)
    assert after == 200


def test_an_unexpected_error_answers_json_500_and_is_logged(
    config: Config, fake_store: StatusStore, caplog: pytest.LogCaptureFixture
) -> None:
    def break_down(services: list[str]) -> None:
        raise RuntimeError("bug")

    fake_store.read_many = break_down  # type: ignore[method-assign]
    client = create_app(config, fake_store).test_client()

    with caplog.at_level(logging.ERROR, logger="api.app"):
        response = client.get("/api/system-status")

    assert response.status_code == 500
    assert response.get_json() == {
        "error": "internal error",
        "detail": "see the server log",
    }
    assert "RuntimeError: bug" in caplog.text


def test_error_answers_are_not_cached_either(fake_store) -> None:
    from shared import config as configuration

    config = configuration.load(environ={})
    client = create_app(config, fake_store, api_key="k-123456").test_client()

    for response in (
        client.get("/nope"),
        client.post("/healthz"),
        client.get("/api/x"),
    ):
        assert response.status_code in (401, 404, 405)
        assert response.headers["Cache-Control"] == "no-store"


def answer_with_a_redis_error(*args: object, **kwargs: object) -> None:
    raise redis.exceptions.ResponseError("DB index is out of range")


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/system-status", "read_many"),
        ("/metrics", "read_many"),
        ("/metrics", "heartbeat"),
    ],
)
def test_a_redis_error_answers_503_naming_its_class(
    config: Config, fake_store: StatusStore, path: str, method: str
) -> None:
    setattr(fake_store, method, answer_with_a_redis_error)
    client = create_app(config, fake_store, clock=lambda: NOW).test_client()

    response = client.get(path)

    assert response.status_code == 503
    assert response.get_json() == {
        "error": "status store error",
        "detail": "Redis answered with an error (ResponseError)",
    }
    assert response.headers["Retry-After"] == str(RETRY_AFTER)


@pytest.mark.integration
def test_a_wrong_database_index_answers_503_and_says_no_more(
    config: Config, real_redis: redis.Redis
) -> None:
    server = real_redis.connection_pool.connection_kwargs
    host, port = server["host"], server["port"]
    url = f"redis://{host}:{port}/4000"  # far beyond any server's `databases`
    store = StatusStore(connect(url, timeout=1.0))
    client = create_app(config, store, clock=lambda: NOW).test_client()

    try:
        data = client.get("/api/system-status")
        health = client.get("/healthz")
    finally:
        store.client.close()

    assert data.status_code == 503
    assert "ResponseError" in data.get_json()["detail"]
    assert str(port) not in data.get_data(as_text=True)
    assert health.status_code == 200
    assert health.get_json()["redis"] == "error"
