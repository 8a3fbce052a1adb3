"""The `automation` probe on the host app's automation log, in PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import timedelta

import hostapp
import pytest

from shared.fields import render_fields
from shared.model import Status, from_iso, utcnow

pytestmark = pytest.mark.integration

HOUR = timedelta(hours=1)


def test_it_rates_success_over_the_last_day_only(host_db, run_probe) -> None:
    now = hostapp.now()
    newest = now - timedelta(minutes=20)
    runs = [
        ("success", newest),
        ("success", now - 2 * HOUR),
        ("success", now - 5 * HOUR),
        ("failed", now - 3 * HOUR),
        ("degraded", now - 4 * HOUR),
    ]
    # Five failures of the day before: counted, they would make the rate 30%.
    runs += [("failed", now - 30 * HOUR)] * 5
    hostapp.add_runs(host_db.engine, host_db.tables, runs)

    result = run_probe("automation", {"DATABASE_URL": host_db.url})

    assert result.status == Status.OPERATIONAL, result.reason
    assert result.values["success_rate_pct"] == 60.0
    assert from_iso(result.values["last_triggered_at"]) == newest


def test_it_is_degraded_by_more_than_five_failures_in_the_last_hour(
    host_db, run_probe
) -> None:
    now = hostapp.now()
    runs = [("failed", now - timedelta(minutes=10))] * 6
    runs += [("success", now - 2 * HOUR)] * 18
    hostapp.add_runs(host_db.engine, host_db.tables, runs)

    result = run_probe("automation", {"DATABASE_URL": host_db.url})

    assert result.status == Status.DEGRADED
    assert "6 failed runs in the last hour" in result.reason
    assert result.values["success_rate_pct"] == 75.0


def test_it_ignores_failures_older_than_an_hour_for_degrading(
    host_db, run_probe
) -> None:
    now = hostapp.now()
    runs = [("failed", now - timedelta(minutes=10))] * 5
    runs += [("failed", now - 2 * HOUR)] * 10
    hostapp.add_runs(host_db.engine, host_db.tables, runs)

    result = run_probe("automation", {"DATABASE_URL": host_db.url})

    assert result.status == Status.OPERATIONAL, result.reason
    assert result.values["success_rate_pct"] == 0.0


def test_it_has_no_rate_and_no_last_run_when_nothing_ran(host_db, run_probe) -> None:
    result = run_probe("automation", {"DATABASE_URL": host_db.url})

    assert result.values == {"success_rate_pct": None, "last_triggered_at": None}
    shown = render_fields("automation", result.values, utcnow())
    assert shown == {"lastTriggered": "Never", "successRate": "N/A"}


def test_it_keeps_the_last_run_when_none_fell_in_the_window(host_db, run_probe) -> None:
    long_ago = hostapp.now() - 40 * HOUR
    hostapp.add_runs(host_db.engine, host_db.tables, [("success", long_ago)])

    result = run_probe("automation", {"DATABASE_URL": host_db.url})

    assert result.values["success_rate_pct"] is None
    assert from_iso(result.values["last_triggered_at"]) == long_ago


def test_it_reads_a_log_under_a_configured_name(host_db, run_probe) -> None:
    renamed = hostapp.create(host_db.engine, {"automation_logs": "workflow_runs"})
    now = hostapp.now()
    runs = [("success", now - HOUR), ("failed", now - 2 * HOUR)]
    hostapp.add_runs(host_db.engine, renamed, runs)

    result = run_probe(
        "automation", {"DATABASE_URL": host_db.url}, table="workflow_runs"
    )

    assert result.values["success_rate_pct"] == 50.0
    assert from_iso(result.values["last_triggered_at"]) == now - HOUR


def test_it_is_down_with_the_drivers_first_line_when_the_log_is_missing(
    host_db, run_probe
) -> None:
    host_db.tables.runs.drop(host_db.engine)

    result = run_probe("automation", {"DATABASE_URL": host_db.url})

    assert result.status == Status.DOWN
    assert "automation_logs" in result.reason
    assert "\n" not in result.reason


@pytest.mark.parametrize(
    ("minimum", "status"),
    [(75, Status.DEGRADED), (60, Status.OPERATIONAL), (50, Status.OPERATIONAL)],
)
def test_a_success_rate_below_the_configured_minimum_is_degraded(
    host_db, run_probe, minimum: float, status: Status
) -> None:
    now = hostapp.now()
    runs = [("success", now - 2 * HOUR)] * 3 + [("failed", now - 3 * HOUR)] * 2
    hostapp.add_runs(host_db.engine, host_db.tables, runs)

    result = run_probe(
        "automation", {"DATABASE_URL": host_db.url}, min_success_rate=minimum
    )

    assert result.status == status, result.reason
    assert result.values["success_rate_pct"] == 60.0
    if status == Status.DEGRADED:
        assert result.reason == f"success rate 60% below {minimum}%"
