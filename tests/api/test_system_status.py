"""Check `GET /api/system-status` against the widget's contract, on fakeredis."""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from api.app import create_app
from shared import config as configuration
from shared import keys
from shared.config import Config
from shared.model import ProbeResult, Status, StoredResult, to_iso
from shared.store import StatusStore

NOW = datetime(2025, 12, 28, 10, 30, tzinfo=UTC)
API_KEY = "status-key-5f1c9e"

# The contract's complete answer, copied from ../shared/contract so that the test
# runs from any clone; `test_the_kept_example_matches_the_contract` compares the two
# where the contract is at hand.
KEPT_EXAMPLE = Path(__file__).resolve().parents[1] / "data/system-status.example.json"
CONTRACT_EXAMPLE: dict[str, Any] = json.loads(KEPT_EXAMPLE.read_text())
CONTRACT_FOLDER = Path(__file__).resolve().parents[2].parent / "shared" / "contract"

# What each service measured to produce the example's values.
MEASURED: dict[str, tuple[int | None, dict[str, Any]]] = {
    "instaGraphApi": (142, {"rate_limit_remaining_pct": 87}),
    "webhooksConfig": (
        None,
        {"active_hooks": 3, "last_event_at": to_iso(NOW - timedelta(minutes=2))},
    ),
    "sqlDatabase": (8, {"active_connections": 12}),
    "groqCloud": (234, {"model": "llama-3.1-70b"}),
    "pinecone": (45, {"index": "social-vectors", "total_vectors": 12847}),
    "scheduler": (
        None,
        {"jobs_queued": 7, "next_run_at": to_iso(NOW + timedelta(minutes=15))},
    ),
    "automation": (
        None,
        {
            "last_triggered_at": to_iso(NOW - timedelta(minutes=5)),
            "success_rate_pct": 94,
        },
    ),
    "geminiApi": (189, {"quota_used_pct": 23}),
    "llumaAi": (156, {"model_version": "v2.3.1"}),
}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def config() -> Config:
    return configuration.load(environ={})


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def client(config: Config, fake_store: StatusStore, clock: Clock) -> FlaskClient:
    return create_app(config, fake_store, clock=clock).test_client()


def put(
    store: StatusStore,
    service: str,
    result: ProbeResult,
    checked_at: datetime = NOW - timedelta(seconds=10),
) -> None:
    store.write(StoredResult(service, "test", result.stamped(checked_at)))


def put_everything(store: StatusStore) -> None:
    for service, (latency, values) in MEASURED.items():
        status = Status.DEGRADED if service == "automation" else Status.OPERATIONAL
        put(store, service, ProbeResult(status, None, latency, values))


def fetch(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/system-status")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_the_timestamp_is_the_request_time_in_iso_with_its_offset(
    client: FlaskClient,
) -> None:
    timestamp = fetch(client)["timestamp"]

    assert timestamp == "2025-12-28T10:30:00+00:00"
    assert datetime.fromisoformat(timestamp) == NOW


def test_the_document_holds_the_nine_services_in_the_contract_order(
    client: FlaskClient,
) -> None:
    assert list(fetch(client)) == list(CONTRACT_EXAMPLE)


def test_each_service_has_the_contract_keys_in_order_then_ours(
    client: FlaskClient, fake_store: StatusStore
) -> None:
    put_everything(fake_store)

    document = fetch(client)

    for service, example in CONTRACT_EXAMPLE.items():
        if service != "timestamp":
            assert list(document[service]) == [*example, "checkedAt", "reason"]


def test_measured_values_appear_in_the_contract_formats(
    client: FlaskClient, fake_store: StatusStore
) -> None:
    put_everything(fake_store)

    document = fetch(client)

    for service, example in CONTRACT_EXAMPLE.items():
        if service != "timestamp":
            ours = {key: document[service][key] for key in example}
            assert ours == example, service


def test_the_document_matches_the_contract_example_in_structure_and_types(
    client: FlaskClient, fake_store: StatusStore
) -> None:
    put_everything(fake_store)

    document = fetch(client)

    assert set(document) == set(CONTRACT_EXAMPLE)
    assert type(document["timestamp"]) is type(CONTRACT_EXAMPLE["timestamp"])
    for service, example in CONTRACT_EXAMPLE.items():
        if service == "timestamp":
            continue
        assert set(document[service]) - set(example) == {"checkedAt", "reason"}
        for key, value in example.items():
            assert type(document[service][key]) is type(value), f"{service}.{key}"


def test_the_kept_example_matches_the_contract() -> None:
    if not CONTRACT_FOLDER.is_dir():
        pytest.skip(f"the contract is not at {CONTRACT_FOLDER}")
    contract = CONTRACT_FOLDER / "system-status.example.json"

    assert json.loads(contract.read_text()) == CONTRACT_EXAMPLE


def test_times_are_computed_when_the_request_comes(
    client: FlaskClient, fake_store: StatusStore, clock: Clock
) -> None:
    values = {
        "active_hooks": 2,
        "last_event_at": to_iso(NOW - timedelta(seconds=90)),
    }
    put(fake_store, "webhooksConfig", ProbeResult.operational(None, **values))
    put(
        fake_store,
        "scheduler",
        ProbeResult.operational(
            None, jobs_queued=1, next_run_at=to_iso(NOW + timedelta(minutes=15))
        ),
    )

    before = fetch(client)
    clock.now = NOW + timedelta(seconds=60)
    after = fetch(client)

    assert before["webhooksConfig"]["lastEvent"] == "1m ago"
    assert after["webhooksConfig"]["lastEvent"] == "2m ago"
    assert (before["scheduler"]["nextRun"], after["scheduler"]["nextRun"]) == (
        "15m",
        "14m",
    )
    assert after["timestamp"] == "2025-12-28T10:31:00+00:00"


def test_a_service_never_checked_reads_unknown_with_nothing_measured(
    client: FlaskClient,
) -> None:
    document = fetch(client)

    assert document["pinecone"] == {
        "status": "unknown",
        "index": "N/A",
        "totalVectors": "N/A",
        "latency": "N/A",
        "checkedAt": None,
        "reason": "never checked",
    }
    assert document["webhooksConfig"]["activeHooks"] is None
    assert document["webhooksConfig"]["lastEvent"] == "N/A"
    assert document["scheduler"]["nextRun"] == "N/A"


def test_a_result_older_than_its_staleness_window_reads_unknown(
    client: FlaskClient, fake_store: StatusStore, config: Config
) -> None:
    window = config.service("sqlDatabase").stale_after
    checked_at = NOW - timedelta(seconds=window + 1)
    put(
        fake_store,
        "sqlDatabase",
        ProbeResult.operational(8, active_connections=3),
        checked_at,
    )

    entry = fetch(client)["sqlDatabase"]

    assert entry["status"] == "unknown"
    assert entry["reason"].startswith("stale")
    assert (entry["activeConnections"], entry["latency"]) == (None, "N/A")
    assert entry["checkedAt"] == to_iso(checked_at)


def test_a_result_turns_stale_as_the_clock_moves_on(
    client: FlaskClient, fake_store: StatusStore, config: Config, clock: Clock
) -> None:
    window = config.service("sqlDatabase").stale_after
    put(fake_store, "sqlDatabase", ProbeResult.operational(8), NOW)

    clock.now = NOW + timedelta(seconds=window)
    at_the_edge = fetch(client)["sqlDatabase"]["status"]
    clock.now = NOW + timedelta(seconds=window + 1)
    beyond = fetch(client)["sqlDatabase"]["status"]

    assert (at_the_edge, beyond) == ("operational", "unknown")


@pytest.mark.parametrize(
    "result",
    [
        ProbeResult.operational(40),
        ProbeResult.degraded("slow: 1800ms, above 1000ms", 1800),
        ProbeResult.down("credential rejected (HTTP 401)", 90),
        ProbeResult.unknown("GROQ_API_KEY is not set"),
    ],
    ids=lambda result: result.status.value,
)
def test_a_fresh_status_is_passed_through_with_its_reason(
    client: FlaskClient, fake_store: StatusStore, result: ProbeResult
) -> None:
    checked_at = NOW - timedelta(seconds=30)
    put(fake_store, "groqCloud", result, checked_at)

    entry = fetch(client)["groqCloud"]

    assert entry["status"] == result.status.value
    assert entry["reason"] == result.reason
    assert entry["checkedAt"] == "2025-12-28T10:29:30+00:00"


def test_the_answer_is_json_and_never_cached(client: FlaskClient) -> None:
    response = client.get("/api/system-status")

    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"


def a_config(*names: str) -> Config:
    """A configuration of HTTP services with these names, in this order."""
    tables = [
        f'[services.{name}]\nkind = "http"\nurl = "http://x.test"' for name in names
    ]
    return configuration.parse(tomllib.loads("\n".join(tables)), "test.toml")


def test_a_service_outside_the_contract_shows_its_latency_and_measurements(
    fake_store: StatusStore,
) -> None:
    put(fake_store, "cache", ProbeResult.operational(3, jobs_queued=4))
    app = create_app(a_config("cache", "groqCloud"), fake_store, clock=Clock(NOW))

    document = fetch(app.test_client())

    assert document["cache"]["latency"] == "3ms"
    assert document["cache"]["jobsQueued"] == 4


def test_the_contract_services_come_first_in_the_contract_order_then_the_others(
    fake_store: StatusStore,
) -> None:
    config = a_config("queue", "llumaAi", "cache", "instaGraphApi")
    app = create_app(config, fake_store, clock=Clock(NOW))

    document = fetch(app.test_client())

    assert list(document) == [*CONTRACT_EXAMPLE, "queue", "cache"]


def test_a_contract_service_left_out_of_the_configuration_reads_unknown(
    fake_store: StatusStore,
) -> None:
    put_everything(fake_store)
    app = create_app(a_config("sqlDatabase"), fake_store, clock=Clock(NOW))

    document = fetch(app.test_client())

    assert document["pinecone"] == {
        "status": "unknown",
        "index": "N/A",
        "totalVectors": "N/A",
        "latency": "N/A",
        "checkedAt": None,
        "reason": "not in the configuration",
    }
    assert document["scheduler"]["jobsQueued"] is None
    assert document["sqlDatabase"]["status"] == "operational"


def test_a_document_with_left_out_services_keeps_the_contract_types(
    fake_store: StatusStore,
) -> None:
    app = create_app(a_config("groqCloud"), fake_store, clock=Clock(NOW))

    document = fetch(app.test_client())

    for service, example in CONTRACT_EXAMPLE.items():
        if service == "timestamp":
            continue
        assert list(document[service]) == [*example, "checkedAt", "reason"]
        for key, value in example.items():
            expected = (type(value), type(None)) if isinstance(value, int) else str
            assert isinstance(document[service][key], expected), f"{service}.{key}"


@pytest.fixture
def locked(config: Config, fake_store: StatusStore) -> FlaskClient:
    return create_app(
        config, fake_store, api_key=API_KEY, clock=Clock(NOW)
    ).test_client()


def test_a_request_without_the_key_is_refused_with_json(locked: FlaskClient) -> None:
    response = locked.get("/api/system-status")

    assert response.status_code == 401
    assert response.get_json() == {
        "error": "unauthorized",
        "detail": "missing X-API-Key header",
    }
    assert "X-API-Key" in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "wrong", ["nope", API_KEY + "x", API_KEY[:-1], API_KEY.upper()]
)
def test_a_request_with_a_wrong_key_is_refused(locked: FlaskClient, wrong: str) -> None:
    response = locked.get("/api/system-status", headers={"X-API-Key": wrong})

    assert response.status_code == 401
    assert response.get_json()["detail"] == "wrong X-API-Key"


def test_a_request_with_the_key_gets_the_document(locked: FlaskClient) -> None:
    response = locked.get("/api/system-status", headers={"X-API-Key": API_KEY})

    assert response.status_code == 200
    assert list(response.get_json()) == list(CONTRACT_EXAMPLE)


def test_without_a_configured_key_no_header_is_needed(client: FlaskClient) -> None:
    assert client.get("/api/system-status").status_code == 200


def put_raw(store: StatusStore, service: str, text: str) -> None:
    store.client.set(keys.service(service), text)


def a_stored(service: str, **fields: Any) -> str:
    """A result as statusd writes it, with `fields` changed by hand."""
    stored = StoredResult(
        service, "test", ProbeResult.operational(8).stamped(NOW - timedelta(seconds=10))
    )
    document = json.loads(stored.to_json())
    document.update(fields)
    return json.dumps(document)


def strict_json(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in the answer is not JSON")

    return json.loads(text, parse_constant=refuse)


ODD_STORED = {
    "last event empty": (
        "webhooksConfig",
        a_stored("webhooksConfig", values={"last_event_at": ""}),
    ),
    "last event zero": (
        "webhooksConfig",
        a_stored("webhooksConfig", values={"last_event_at": 0}),
    ),
    "last event false": (
        "webhooksConfig",
        a_stored("webhooksConfig", values={"last_event_at": False}),
    ),
    "last event object": (
        "webhooksConfig",
        a_stored("webhooksConfig", values={"last_event_at": {}}),
    ),
    "next run empty": ("scheduler", a_stored("scheduler", values={"next_run_at": ""})),
    "next run zero": ("scheduler", a_stored("scheduler", values={"next_run_at": 0})),
    "last triggered year 1": (
        "automation",
        a_stored(
            "automation", values={"last_triggered_at": "0001-01-01T00:00:00+14:00"}
        ),
    ),
    "hooks text": (
        "webhooksConfig",
        a_stored("webhooksConfig", values={"active_hooks": "many"}),
    ),
    "latency text": ("sqlDatabase", a_stored("sqlDatabase", latency_ms="fast")),
    "latency list": ("sqlDatabase", a_stored("sqlDatabase", latency_ms=[1])),
    "checked year 1": (
        "sqlDatabase",
        a_stored("sqlDatabase", checked_at="0001-01-01T00:00:00+14:00"),
    ),
    "checked year 9999": (
        "sqlDatabase",
        a_stored("sqlDatabase", checked_at="9999-12-31T23:00:00-14:00"),
    ),
    "since year 1": (
        "sqlDatabase",
        a_stored("sqlDatabase", since="0001-01-01T00:00:00+14:00"),
    ),
    "reason object": ("sqlDatabase", a_stored("sqlDatabase", reason={"a": 1})),
    "reason NaN": (
        "sqlDatabase",
        a_stored("sqlDatabase", reason="(nan)").replace('"(nan)"', "NaN"),
    ),
    "hooks Infinity": (
        "webhooksConfig",
        a_stored("webhooksConfig", values={"active_hooks": "(inf)"}).replace(
            '"(inf)"', "Infinity"
        ),
    ),
    "values pairs": ("sqlDatabase", a_stored("sqlDatabase", values=["ab", "cd"])),
    "nested deep": ("sqlDatabase", "[" * 50_000 + "]" * 50_000),
}


@pytest.mark.parametrize(("service", "text"), ODD_STORED.values(), ids=list(ODD_STORED))
def test_an_odd_stored_value_never_costs_the_document(
    client: FlaskClient, fake_store: StatusStore, service: str, text: str
) -> None:
    put_everything(fake_store)
    put_raw(fake_store, service, text)

    response = client.get("/api/system-status")

    assert response.status_code == 200
    document = strict_json(response.get_data(as_text=True))
    assert list(document) == list(CONTRACT_EXAMPLE)
    assert list(document[service])[:-2] == list(CONTRACT_EXAMPLE[service])
    others = [name for name in MEASURED if name != service]
    assert all(document[name]["reason"] is None for name in others)


@pytest.mark.parametrize(
    ("service", "values", "field", "shown"),
    [
        (
            "webhooksConfig",
            {"active_hooks": 2, "last_event_at": ""},
            "lastEvent",
            "N/A",
        ),
        ("scheduler", {"jobs_queued": 1, "next_run_at": False}, "nextRun", "N/A"),
        ("webhooksConfig", {"active_hooks": "many"}, "activeHooks", None),
    ],
)
def test_an_odd_measurement_costs_only_its_own_field(
    client: FlaskClient,
    fake_store: StatusStore,
    service: str,
    values: dict[str, Any],
    field: str,
    shown: Any,
) -> None:
    put(fake_store, service, ProbeResult.operational(None, **values))

    entry = fetch(client)[service]

    assert entry["status"] == "operational"
    assert entry[field] == shown


def test_a_result_checked_well_in_the_future_reads_unknown(
    client: FlaskClient, fake_store: StatusStore, config: Config, clock: Clock
) -> None:
    ahead = NOW + timedelta(seconds=61)
    put(fake_store, "sqlDatabase", ProbeResult.operational(8), ahead)

    entry = fetch(client)["sqlDatabase"]

    assert entry["status"] == "unknown"
    assert entry["reason"] == "checked in the future (clock skew?)"
    assert entry["checkedAt"] == to_iso(ahead)
    assert entry["latency"] == "N/A"


def test_a_result_a_little_ahead_of_the_api_s_clock_still_counts(
    client: FlaskClient, fake_store: StatusStore
) -> None:
    put(
        fake_store,
        "sqlDatabase",
        ProbeResult.operational(8),
        NOW + timedelta(seconds=60),
    )

    assert fetch(client)["sqlDatabase"]["status"] == "operational"
