"""Check `/healthz`: the API's own liveness, with what it knows of Redis and the collector."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from api.app import create_app
from shared import config as configuration
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
