"""Check `/healthz`: the API's own liveness, with what it knows of Redis and the collector."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from flask.testing import FlaskClient

from api.app import create_app
from shared import config as configuration
from shared import keys
from shared.config import Config
from shared.store import StatusStore, connect


@pytest.fixture
def config() -> Config:
    return configuration.load(environ={})


@pytest.fixture
def client(config: Config, fake_store: StatusStore) -> FlaskClient:
    return create_app(config, fake_store, api_key="status-key-5f1c9e").test_client()


def test_it_shows_a_live_collector_and_its_last_beat(
    client: FlaskClient, fake_store: StatusStore
) -> None:
    fake_store.beat({"pid": 7, "beat_at": "2025-12-28T10:29:58+00:00"}, ttl=30)

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "redis": "ok",
        "collector": {"alive": True, "lastBeat": "2025-12-28T10:29:58+00:00"},
    }


def test_it_shows_an_absent_collector(client: FlaskClient) -> None:
    body = client.get("/healthz").get_json()

    assert body["redis"] == "ok"
    assert body["collector"] == {"alive": False, "lastBeat": None}


def test_it_shows_a_collector_gone_once_its_heartbeat_is_forgotten(
    client: FlaskClient, fake_store: StatusStore
) -> None:
    fake_store.beat({"pid": 7, "beat_at": "2025-12-28T10:29:58+00:00"}, ttl=30)
    fake_store.forget_heartbeat()

    assert client.get("/healthz").get_json()["collector"]["alive"] is False


def test_it_needs_no_api_key(client: FlaskClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/system-status").status_code == 401


@pytest.fixture
def dead_store() -> Iterator[StatusStore]:
    store = StatusStore(connect("redis://127.0.0.1:1/0", timeout=1.0))
    yield store
    store.client.close()


def test_it_answers_200_and_says_redis_is_unreachable(
    config: Config, dead_store: StatusStore
) -> None:
    client = create_app(config, dead_store).test_client()

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "redis": "unreachable",
        "collector": None,
    }


def test_it_is_never_cached(client: FlaskClient) -> None:
    assert client.get("/healthz").headers["Cache-Control"] == "no-store"


def test_it_answers_200_and_names_a_redis_error_it_meets(
    config: Config, fake_store: StatusStore
) -> None:
    def answer_with_an_error() -> None:
        raise redis.exceptions.ResponseError("DB index is out of range")

    fake_store.heartbeat = answer_with_an_error  # type: ignore[method-assign]
    client = create_app(config, fake_store).test_client()

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "redis": "error",
        "redisError": "ResponseError",
        "collector": None,
    }


def test_it_answers_200_whatever_type_the_heartbeat_key_has(
    client: FlaskClient, fake_store: StatusStore
) -> None:
    fake_store.client.hset(keys.HEARTBEAT, "beat_at", "2025-12-28T10:29:58+00:00")

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_metrics_never_fail_over_a_heartbeat_key_of_the_wrong_type(
    config: Config, fake_store: StatusStore
) -> None:
    fake_store.client.rpush(keys.HEARTBEAT, "beat")
    client = create_app(config, fake_store).test_client()

    assert client.get("/metrics").status_code in (200, 503)


@pytest.mark.parametrize(
    "beat_at", [{"x": 1}, 12345, ["2025-12-28T10:29:58+00:00"]], ids=repr
)
def test_it_shows_only_a_last_beat_that_is_text(
    client: FlaskClient, fake_store: StatusStore, beat_at: object
) -> None:
    fake_store.beat({"pid": 7, "beat_at": beat_at}, ttl=30)

    body = client.get("/healthz").get_json()

    assert body["collector"] == {"alive": True, "lastBeat": None}
