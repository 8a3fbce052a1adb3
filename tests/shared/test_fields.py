"""Check every value format of the widget's contract, computed against a given `now`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared import once
from shared.fields import (
    ABSENT,
    MEASUREMENTS,
    finite_number,
    format_large_count,
    format_latency,
    format_name,
    format_share,
    format_small_count,
    format_time_since,
    format_time_until,
    render_fields,
)
from shared.model import to_iso

NOW = datetime(2025, 12, 28, 10, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def nothing_warned_yet() -> None:
    """Each test starts as a fresh process would: no problem logged yet."""
    once.forget()


# Each service's fields after `status`, in the order of the contract's table.
CONTRACT_KEYS = {
    "instaGraphApi": ["latency", "rateLimitRemaining"],
    "webhooksConfig": ["activeHooks", "lastEvent"],
    "sqlDatabase": ["activeConnections", "latency"],
    "groqCloud": ["model", "latency"],
    "pinecone": ["index", "totalVectors", "latency"],
    "scheduler": ["jobsQueued", "nextRun"],
    "automation": ["lastTriggered", "successRate"],
    "geminiApi": ["latency", "quotaUsedToday"],
    "llumaAi": ["latency", "modelVersion"],
}

# Everything a probe could measure, to fill any service's fields.
MEASURED = {
    "latency_ms": 142,
    "rate_limit_remaining_pct": 87,
    "active_hooks": 3,
    "last_event_at": to_iso(NOW - timedelta(minutes=2)),
    "active_connections": 12,
    "model": "llama-3.1-70b",
    "index": "social-vectors",
    "total_vectors": 12847,
    "jobs_queued": 7,
    "next_run_at": to_iso(NOW + timedelta(minutes=15)),
    "last_triggered_at": to_iso(NOW - timedelta(minutes=5)),
    "success_rate_pct": 94,
    "quota_used_pct": 23,
    "model_version": "v2.3.1",
}


def ago(**delta: float) -> str | None:
    return to_iso(NOW - timedelta(**delta))


def ahead(**delta: float) -> str | None:
    return to_iso(NOW + timedelta(**delta))


@pytest.mark.parametrize(
    ("value", "shown"), [(142, "142ms"), (141.6, "142ms"), (0, "0ms"), (8.2, "8ms")]
)
def test_latency_is_whole_milliseconds(value: float, shown: str) -> None:
    assert format_latency(value, NOW) == shown


@pytest.mark.parametrize(("value", "shown"), [(87, "87%"), (93.6, "94%"), (0, "0%")])
def test_a_share_is_a_whole_percent(value: float, shown: str) -> None:
    assert format_share(value, NOW) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [(12847, "12,847"), (1234567, "1,234,567"), (999, "999"), (0, "0")],
)
def test_a_large_count_is_grouped_by_commas(value: int, shown: str) -> None:
    assert format_large_count(value, NOW) == shown


def test_a_small_count_is_a_json_integer() -> None:
    shown = format_small_count(3, NOW)

    assert shown == 3
    assert type(shown) is int


@pytest.mark.parametrize(
    "formatter", [format_latency, format_share, format_large_count, format_name]
)
@pytest.mark.parametrize("value", [ABSENT, None])
def test_a_text_value_not_measured_reads_n_a(formatter: Any, value: Any) -> None:
    assert formatter(value, NOW) == "N/A"


@pytest.mark.parametrize("value", [ABSENT, None])
def test_a_small_count_not_measured_is_null(value: Any) -> None:
    assert format_small_count(value, NOW) is None


def test_a_name_is_shown_as_given_but_empty_reads_n_a() -> None:
    assert format_name("llama-3.1-70b", NOW) == "llama-3.1-70b"
    assert format_name("", NOW) == "N/A"


@pytest.mark.parametrize(
    ("instant", "shown"),
    [
        (ago(seconds=0), "0s ago"),
        (ago(seconds=45), "45s ago"),
        (ago(seconds=59), "59s ago"),
        (ago(seconds=60), "1m ago"),
        (ago(seconds=150), "2m ago"),
        (ago(minutes=59, seconds=59), "59m ago"),
        (ago(hours=3, minutes=5), "3h ago"),
        (ago(hours=23, minutes=59), "23h ago"),
        (ago(days=2, hours=3), "2d ago"),
        (ago(days=40), "40d ago"),
    ],
)
def test_time_since_uses_the_largest_whole_unit(instant: str, shown: str) -> None:
    assert format_time_since(instant, NOW) == shown


def test_time_since_an_instant_ahead_of_now_reads_zero_seconds() -> None:
    # Clocks of the collector and the API may differ by a little.
    assert format_time_since(ahead(seconds=3), NOW) == "0s ago"


def test_time_since_reads_never_when_nothing_happened_and_n_a_unmeasured() -> None:
    assert format_time_since(None, NOW) == "Never"
    assert format_time_since(ABSENT, NOW) == "N/A"


def test_time_since_is_computed_from_the_given_now() -> None:
    instant = ago(seconds=90)

    assert format_time_since(instant, NOW) == "1m ago"
    assert format_time_since(instant, NOW + timedelta(hours=2)) == "2h ago"


def test_time_since_reads_a_stored_instant_without_offset_as_utc() -> None:
    naive = (NOW - timedelta(minutes=2)).replace(tzinfo=None).isoformat()

    assert format_time_since(naive, NOW) == "2m ago"


@pytest.mark.parametrize(
    ("instant", "shown"),
    [
        (ahead(minutes=15), "15m"),
        (ahead(minutes=14, seconds=1), "15m"),
        (ahead(seconds=30), "1m"),
        (ahead(seconds=60), "1m"),
        (ahead(seconds=61), "2m"),
        (ahead(hours=2), "120m"),
        (ahead(seconds=0), "0m"),
        (ago(minutes=10), "0m"),
    ],
)
def test_time_until_is_whole_minutes_rounded_up_and_0m_when_due(
    instant: str, shown: str
) -> None:
    assert format_time_until(instant, NOW) == shown


def test_time_until_reads_none_without_a_job_and_n_a_unmeasured() -> None:
    assert format_time_until(None, NOW) == "None"
    assert format_time_until(ABSENT, NOW) == "N/A"


def test_time_until_is_computed_from_the_given_now() -> None:
    instant = ahead(minutes=15)

    assert format_time_until(instant, NOW + timedelta(minutes=10)) == "5m"


@pytest.mark.parametrize("service", list(CONTRACT_KEYS))
def test_each_contract_service_gets_exactly_its_contract_keys(service: str) -> None:
    rendered = render_fields(service, MEASURED, NOW)

    assert list(rendered) == CONTRACT_KEYS[service]


@pytest.mark.parametrize("service", list(CONTRACT_KEYS))
def test_a_contract_service_measured_nothing_keeps_its_keys(service: str) -> None:
    rendered = render_fields(service, None, NOW)

    assert list(rendered) == CONTRACT_KEYS[service]
    assert set(rendered.values()) <= {"N/A", None}


def test_contract_values_render_in_the_contract_formats() -> None:
    rendered = {
        service: render_fields(service, MEASURED, NOW) for service in CONTRACT_KEYS
    }

    assert rendered["instaGraphApi"] == {
        "latency": "142ms",
        "rateLimitRemaining": "87%",
    }
    assert rendered["webhooksConfig"] == {"activeHooks": 3, "lastEvent": "2m ago"}
    assert rendered["pinecone"]["totalVectors"] == "12,847"
    assert rendered["scheduler"] == {"jobsQueued": 7, "nextRun": "15m"}
    assert rendered["automation"] == {"lastTriggered": "5m ago", "successRate": "94%"}
    assert rendered["llumaAi"]["modelVersion"] == "v2.3.1"


def test_a_measured_none_differs_from_a_missing_measurement() -> None:
    rendered = render_fields("webhooksConfig", {"last_event_at": None}, NOW)

    assert rendered == {"activeHooks": None, "lastEvent": "Never"}


def test_an_extra_service_gets_latency_and_its_known_measurements() -> None:
    measured = {"latency_ms": 5, "jobs_queued": 2, "model": "m1", "made_up": 1}

    rendered = render_fields("redisCache", measured, NOW)

    assert rendered == {"latency": "5ms", "jobsQueued": 2, "model": "m1"}


def test_an_extra_service_measured_nothing_shows_latency_only() -> None:
    assert render_fields("redisCache", None, NOW) == {"latency": "N/A"}


def test_a_value_of_the_wrong_shape_costs_only_its_own_field(
    caplog: pytest.LogCaptureFixture,
) -> None:
    measured = {"index": "idx", "total_vectors": "lots", "latency_ms": 45}

    with caplog.at_level(logging.WARNING, logger="shared.fields"):
        rendered = render_fields("pinecone", measured, NOW)

    assert rendered == {"index": "idx", "totalVectors": "N/A", "latency": "45ms"}
    assert "total_vectors" in caplog.text


@pytest.mark.parametrize(
    ("service", "measured", "field", "shown"),
    [
        ("webhooksConfig", {"last_event_at": "yesterday"}, "lastEvent", "N/A"),
        ("scheduler", {"jobs_queued": [1, 2]}, "jobsQueued", None),
        ("scheduler", {"next_run_at": 1767000000}, "nextRun", "N/A"),
        ("sqlDatabase", {"latency_ms": float("nan")}, "latency", "N/A"),
    ],
)
def test_an_unshowable_value_reads_as_not_measured(
    service: str, measured: dict[str, Any], field: str, shown: Any
) -> None:
    assert render_fields(service, measured, NOW)[field] == shown


ODD_INSTANTS = [
    "",
    0,
    1.5,
    False,
    True,
    {},
    [],
    "yesterday",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:00:00-14:00",
]


@pytest.mark.parametrize("value", ODD_INSTANTS, ids=repr)
@pytest.mark.parametrize(
    ("service", "name", "field"),
    [
        ("webhooksConfig", "last_event_at", "lastEvent"),
        ("automation", "last_triggered_at", "lastTriggered"),
        ("scheduler", "next_run_at", "nextRun"),
    ],
)
def test_an_odd_stored_instant_reads_n_a_with_a_warning(
    caplog: pytest.LogCaptureFixture, service: str, name: str, field: str, value: Any
) -> None:
    with caplog.at_level(logging.WARNING, logger="shared.fields"):
        rendered = render_fields(service, {name: value}, NOW)

    assert rendered[field] == "N/A"
    assert f"service={service} name={name}" in caplog.text


@pytest.mark.parametrize("formatter", [format_time_since, format_time_until])
@pytest.mark.parametrize("value", ["", 0, False, {}], ids=repr)
def test_a_time_format_refuses_what_is_no_instant_with_value_error(
    formatter: Any, value: Any
) -> None:
    with pytest.raises(ValueError):
        formatter(value, NOW)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("active_hooks", "many"),
        ("active_hooks", float("inf")),
        ("active_hooks", {"n": 1}),
        ("total_vectors", float("-inf")),
        ("latency_ms", [1]),
        ("latency_ms", "fast"),
        ("latency_ms", True),
        ("jobs_queued", False),
        ("success_rate_pct", float("nan")),
    ],
    ids=repr,
)
def test_an_odd_stored_number_reads_as_not_measured(name: str, value: Any) -> None:
    rendered = render_fields("redisCache", {"latency_ms": 3, name: value}, NOW)

    field = {m.name: m.field for m in MEASUREMENTS.values()}[name]
    assert rendered[field] in ("N/A", None)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "shared.fields"]


def test_a_bad_value_is_logged_once_however_often_it_is_shown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="shared.fields"):
        for _ in range(3):
            render_fields("pinecone", {"total_vectors": "lots"}, NOW)

    assert len(warnings_of(caplog)) == 1


def test_each_service_measurement_and_problem_is_logged_on_its_own(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="shared.fields"):
        for _ in range(2):
            render_fields("pinecone", {"total_vectors": "lots"}, NOW)
            render_fields("redisCache", {"total_vectors": "lots"}, NOW)
            render_fields("pinecone", {"total_vectors": "lots", "latency_ms": [1]}, NOW)
            render_fields("webhooksConfig", {"last_event_at": "yesterday"}, NOW)
            render_fields("webhooksConfig", {"last_event_at": "today"}, NOW)

    logged = warnings_of(caplog)
    assert len(logged) == 5
    assert sum("service=pinecone name=total_vectors" in line for line in logged) == 1
    assert sum("name=last_event_at" in line for line in logged) == 2


def test_the_memory_of_logged_problems_stays_bounded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="shared.fields"):
        for day in range(once.MAX_REMEMBERED * 2):
            render_fields("webhooksConfig", {"last_event_at": f"day {day}"}, NOW)

    assert len(once._seen) <= once.MAX_REMEMBERED
    assert len(warnings_of(caplog)) == once.MAX_REMEMBERED * 2


@pytest.mark.parametrize("value", [0, 7, -2.5, 10**30])
def test_a_finite_number_is_kept_as_stored(value: float) -> None:
    number = finite_number(value)

    assert number == value
    assert type(number) is type(value)


@pytest.mark.parametrize(
    "value",
    [True, False, None, "12", [1], {"n": 1}, float("nan"), float("inf"), 10**400],
    ids=lambda value: repr(value)[:12],
)
def test_anything_but_a_finite_number_is_none(value: object) -> None:
    assert finite_number(value) is None
