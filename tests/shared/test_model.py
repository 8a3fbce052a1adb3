"""Check the stored result's JSON form: round trip, rejection of garbage, UTC instants."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from shared.model import (
    ProbeResult,
    Status,
    StoredResult,
    from_iso,
    to_iso,
)

CHECKED = datetime(2026, 12, 3, 16, 20, tzinfo=UTC)
SINCE = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def stored(result: ProbeResult, since: datetime | None = SINCE) -> StoredResult:
    return StoredResult("webhooksConfig", "webhooks", result.stamped(CHECKED), since)


def test_a_stored_result_survives_a_json_round_trip() -> None:
    original = stored(
        ProbeResult.degraded(
            "no active hook",
            latency_ms=12,
            active_hooks=0,
            last_event_at=None,
            nested={"a": [1, 2]},
        )
    )

    assert StoredResult.from_json(original.to_json()) == original


@pytest.mark.parametrize("status", list(Status))
def test_every_status_survives_a_round_trip(status: Status) -> None:
    original = stored(ProbeResult(status, reason="why"), since=None)

    back = StoredResult.from_json(original.to_json())

    assert back.result.status is status
    assert back.since is None


def test_the_json_form_has_the_documented_fields() -> None:
    text = stored(ProbeResult.operational(8, active_hooks=3)).to_json()

    document = json.loads(text)

    assert document == {
        "service": "webhooksConfig",
        "kind": "webhooks",
        "status": "operational",
        "reason": None,
        "latency_ms": 8,
        "checked_at": "2026-12-03T16:20:00+00:00",
        "since": "2026-12-03T09:00:00+00:00",
        "values": {"active_hooks": 3},
    }
    assert "\n" not in text and ", " not in text  # compact for redis-cli


def test_from_json_reads_bytes_as_redis_returns_them() -> None:
    original = stored(ProbeResult.down("HTTP 503"))

    assert StoredResult.from_json(original.to_json().encode()) == original


def test_from_json_tolerates_fields_it_does_not_know() -> None:
    document = json.loads(stored(ProbeResult.operational(5)).to_json())
    document["added_later"] = {"x": 1}

    back = StoredResult.from_json(json.dumps(document))

    assert back.result.latency_ms == 5


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "null",
        "[]",
        '"a string"',
        "{}",
        '{"status": "down"}',
        '{"service": "x"}',
        '{"service": "x", "status": "sideways"}',
        '{"service": "x", "status": "down", "checked_at": "yesterday"}',
        '{"service": "x", "status": "down", "checked_at": 5}',
        '{"service": "x", "status": "down", "values": [1, 2]}',
        b"\xff\xfe",
    ],
)
def test_from_json_rejects_what_is_not_a_stored_result(text: str | bytes) -> None:
    with pytest.raises(ValueError):
        StoredResult.from_json(text)


def test_a_naive_instant_is_utc() -> None:
    naive = datetime(2026, 1, 2, 3, 4, 5)

    assert to_iso(naive) == "2026-01-02T03:04:05+00:00"
    assert from_iso("2026-01-02T03:04:05") == naive.replace(tzinfo=UTC)


def test_an_instant_in_another_zone_is_written_in_utc() -> None:
    paris = datetime(2026, 1, 2, 4, 4, 5, tzinfo=timezone(timedelta(hours=1)))

    assert to_iso(paris) == "2026-01-02T03:04:05+00:00"


def test_a_result_checked_at_a_naive_instant_reads_back_in_utc() -> None:
    naive = datetime(2026, 1, 2, 3, 4, 5)
    original = StoredResult("x", "sql", ProbeResult.operational(1).stamped(naive))

    back = StoredResult.from_json(original.to_json())

    assert back.result.checked_at == naive.replace(tzinfo=UTC)
    assert back.result.checked_at.tzinfo is not None


def test_no_instant_stays_none() -> None:
    assert to_iso(None) is None
    assert from_iso(None) is None
    assert from_iso("") is None


def test_constructors_set_status_reason_and_values() -> None:
    result = ProbeResult.down("refused", 30, active_connections=2)

    assert result.status is Status.DOWN
    assert (result.reason, result.latency_ms) == ("refused", 30)
    assert result.values == {"active_connections": 2}
    assert ProbeResult.unknown("GROQ_API_KEY is not set").latency_ms is None


def a_stored_document(**fields: object) -> dict[str, object]:
    document = json.loads(stored(ProbeResult.operational(5)).to_json())
    document.update(fields)
    return document


@pytest.mark.parametrize("field", ["checked_at", "since"])
@pytest.mark.parametrize(
    "instant", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:00:00-14:00"]
)
def test_from_json_rejects_an_instant_utc_cannot_hold(field: str, instant: str) -> None:
    text = json.dumps(a_stored_document(**{field: instant}))

    with pytest.raises(ValueError, match="out of range"):
        StoredResult.from_json(text)


def test_to_iso_raises_value_error_for_an_instant_utc_cannot_hold() -> None:
    first_day = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))

    with pytest.raises(ValueError):
        to_iso(first_day)


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00+14:00", "yesterday", 0, 1.5, False, {}, []], ids=repr
)
def test_from_iso_raises_only_value_error(text: object) -> None:
    with pytest.raises(ValueError):
        from_iso(text)  # type: ignore[arg-type]


def test_from_iso_gives_the_instant_in_utc() -> None:
    instant = from_iso("2026-01-02T04:04:05+01:00")

    assert instant is not None
    assert instant.utcoffset() == timedelta(0)
    assert instant == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        '{"service": "x", "status": "down", "reason": NaN}',
        '{"service": "x", "status": "down", "latency_ms": Infinity}',
        '{"service": "x", "status": "down", "values": {"active_hooks": -Infinity}}',
        '{"service": "x", "status": "down", "latency_ms": 1e400}',
    ],
)
def test_from_json_rejects_numbers_json_cannot_carry(text: str) -> None:
    with pytest.raises(ValueError):
        StoredResult.from_json(text)


@pytest.mark.parametrize(
    "fields",
    [
        {"values": ["ab", "cd"]},
        {"values": "abc"},
        {"reason": {"a": 1}},
        {"service": 7},
        {"kind": ["sql"]},
    ],
    ids=repr,
)
def test_from_json_rejects_fields_of_the_wrong_type(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        StoredResult.from_json(json.dumps(a_stored_document(**fields)))


def test_from_json_rejects_json_nested_beyond_reason() -> None:
    with pytest.raises(ValueError):
        StoredResult.from_json("[" * 100_000 + "]" * 100_000)


def test_to_json_writes_a_number_that_is_not_one_as_null() -> None:
    latency: Any = float("nan")  # a probe's arithmetic gone wrong
    result = ProbeResult.operational(latency, success_rate_pct=float("inf"))

    back = StoredResult.from_json(stored(result).to_json())

    assert back.result.latency_ms is None
    assert back.result.values == {"success_rate_pct": None}
