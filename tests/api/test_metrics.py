"""Check `/metrics`: the stored results as Prometheus gauges, read at scrape time."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from shared import config as configuration
from shared import keys
from shared.model import ProbeResult, StoredResult, utcnow
from shared.store import StatusStore, connect

NOW = utcnow().replace(microsecond=0)  # stored instants keep whole seconds


def samples(client: FlaskClient, **headers: str) -> dict[tuple, float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    # Exactly the exposition format's own header: Prometheus refuses a Content-Type
    # whose parameters repeat.
    assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST
    found = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


@pytest.fixture
def client(fake_store: StatusStore) -> FlaskClient:
    config = configuration.load(environ={})
    return create_app(config, fake_store, clock=lambda: NOW).test_client()


def store(fake_store: StatusStore, name: str, result: ProbeResult, age: float) -> None:
    fake_store.write(
        StoredResult(name, "sql", result.stamped(NOW - timedelta(seconds=age)))
    )


def test_it_exports_each_service_status_latency_and_age(
    client: FlaskClient, fake_store: StatusStore
) -> None:
    store(fake_store, "sqlDatabase", ProbeResult.degraded("slow", 812), age=4)

    found = samples(client)

    labels = (("kind", "sql"), ("service", "sqlDatabase"))
    assert found[("statusd_service_status", (*labels, ("status", "degraded")))] == 1.0
    assert (
        found[("statusd_service_status", (*labels, ("status", "operational")))] == 0.0
    )
    assert (
        found[("statusd_service_latency_seconds", (("service", "sqlDatabase"),))]
        == 0.812
    )
    assert (
        found[("statusd_service_result_age_seconds", (("service", "sqlDatabase"),))]
        == 4.0
    )


def test_a_stale_or_missing_result_is_unknown(
    client: FlaskClient, fake_store: StatusStore
) -> None:
    store(fake_store, "sqlDatabase", ProbeResult.operational(5), age=3600)

    found = samples(client)

    stale = (("kind", "sql"), ("service", "sqlDatabase"), ("status", "unknown"))
    never = (("kind", "groq"), ("service", "groqCloud"), ("status", "unknown"))
    assert found[("statusd_service_status", stale)] == 1.0
    assert found[("statusd_service_status", never)] == 1.0


def test_it_says_whether_the_collector_is_alive(
    client: FlaskClient, fake_store: StatusStore
) -> None:
    assert samples(client)[("statusd_collector_up", ())] == 0.0

    fake_store.beat({"pid": 1}, ttl=30)

    assert samples(client)[("statusd_collector_up", ())] == 1.0


def test_it_needs_the_api_key_when_one_is_set(fake_store: StatusStore) -> None:
    config = configuration.load(environ={})
    client = create_app(config, fake_store, api_key="metrics-key-123").test_client()

    assert client.get("/metrics").status_code == 401
    assert samples(client, **{"X-API-Key": "metrics-key-123"})


def test_it_answers_503_when_redis_is_unreachable() -> None:
    config = configuration.load(environ={})
    dead = StatusStore(connect("redis://127.0.0.1:1", timeout=0.2))

    response = create_app(config, dead).test_client().get("/metrics")

    assert response.status_code == 503
    assert response.get_json()["error"] == "status store unreachable"


def store_raw(fake_store: StatusStore, name: str, **fields: object) -> None:
    """Write a result as it might lie in Redis after someone edited it by hand."""
    document = json.loads(
        StoredResult(name, "sql", ProbeResult.operational(5).stamped(NOW)).to_json()
    )
    document.update(fields)
    fake_store.client.set(keys.service(name), json.dumps(document))


@pytest.mark.parametrize(
    "latency",
    ["fast", [1], {"ms": 5}, True, 10**400],
    ids=["text", "list", "object", "true", "beyond-float"],
)
def test_a_latency_that_is_no_number_is_left_out_of_the_scrape(
    client: FlaskClient, fake_store: StatusStore, latency: object
) -> None:
    store_raw(fake_store, "sqlDatabase", latency_ms=latency)
    store_raw(fake_store, "groqCloud", latency_ms=250)

    found = samples(client)

    latencies = {
        labels: value
        for (name, labels), value in found.items()
        if name == "statusd_service_latency_seconds"
    }
    assert latencies == {(("service", "groqCloud"),): 0.25}
    sql = (("kind", "sql"), ("service", "sqlDatabase"), ("status", "operational"))
    assert found[("statusd_service_status", sql)] == 1.0


def test_a_result_checked_in_the_future_counts_as_unknown(
    client: FlaskClient, fake_store: StatusStore
) -> None:
    store(fake_store, "sqlDatabase", ProbeResult.operational(5), age=-3600)

    found = samples(client)

    labels = (("kind", "sql"), ("service", "sqlDatabase"))
    assert found[("statusd_service_status", (*labels, ("status", "unknown")))] == 1.0
    assert found[("statusd_service_status", (*labels, ("status", "operational")))] == 0
