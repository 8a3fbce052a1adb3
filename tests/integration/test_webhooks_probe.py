"""The `webhooks` probe on the host app's tables, in PostgreSQL and in SQLite."""

from __future__ import annotations

from datetime import timedelta

import hostapp
import pytest

from shared.fields import render_fields
from shared.model import Status, from_iso, utcnow

pytestmark = pytest.mark.integration


def test_it_counts_active_hooks_and_reads_the_newest_event(host_db, run_probe) -> None:
    now = hostapp.now()
    newest = now - timedelta(minutes=5)
    hostapp.add_hooks(host_db.engine, host_db.tables, active=3, inactive=2)
    hostapp.add_events(
        host_db.engine,
        host_db.tables,
        [now - timedelta(hours=2), newest, now - timedelta(days=1)],
    )

    result = run_probe("webhooks", {"DATABASE_URL": host_db.url})

    assert result.status == Status.OPERATIONAL, result.reason
    assert result.values["active_hooks"] == 3
    assert result.values["last_event_at"].endswith("+00:00")
    assert from_iso(result.values["last_event_at"]) == newest


def test_it_is_degraded_without_an_active_hook(host_db, run_probe) -> None:
    hostapp.add_hooks(host_db.engine, host_db.tables, active=0, inactive=2)
    hostapp.add_events(host_db.engine, host_db.tables, [hostapp.now()])

    result = run_probe("webhooks", {"DATABASE_URL": host_db.url})

    assert result.status == Status.DEGRADED
    assert result.values["active_hooks"] == 0
    assert "0 active" in result.reason


def test_it_reports_a_hook_that_never_received_an_event_as_never(
    host_db, run_probe
) -> None:
    hostapp.add_hooks(host_db.engine, host_db.tables, active=1, inactive=0)

    result = run_probe("webhooks", {"DATABASE_URL": host_db.url})

    assert result.status == Status.OPERATIONAL, result.reason
    assert "last_event_at" in result.values
    assert result.values["last_event_at"] is None
    shown = render_fields("webhooksConfig", result.values, utcnow())
    assert shown == {"activeHooks": 1, "lastEvent": "Never"}


def test_it_is_down_with_the_drivers_first_line_when_tables_are_missing(
    host_db, run_probe
) -> None:
    host_db.tables.metadata.drop_all(host_db.engine)

    result = run_probe("webhooks", {"DATABASE_URL": host_db.url})

    assert result.status == Status.DOWN
    assert "webhook_config" in result.reason
    assert "\n" not in result.reason
    # The driver's words, not SQLAlchemy's wrapping with the SQL and a link.
    assert "SELECT" not in result.reason and "sqlalche.me" not in result.reason


def test_it_reads_tables_under_configured_names(host_db, run_probe) -> None:
    names = {"webhook_config": "hooks", "webhook_events": "hook_deliveries"}
    renamed = hostapp.create(host_db.engine, names)
    hostapp.add_hooks(host_db.engine, renamed, active=4, inactive=1)
    newest = hostapp.now() - timedelta(minutes=1)
    hostapp.add_events(host_db.engine, renamed, [newest])

    result = run_probe(
        "webhooks",
        {"DATABASE_URL": host_db.url},
        config_table="hooks",
        events_table="hook_deliveries",
    )

    # The default tables exist but are empty: these counts come from the renamed ones.
    assert result.status == Status.OPERATIONAL, result.reason
    assert result.values["active_hooks"] == 4
    assert from_iso(result.values["last_event_at"]) == newest


def test_it_reads_schema_qualified_tables(pg_engine, pg_schema, run_probe) -> None:
    _url, schema = pg_schema
    tables = hostapp.create(pg_engine, schema=schema)
    hostapp.add_hooks(pg_engine, tables, active=2, inactive=0)
    plain_url = pg_engine.url.render_as_string(hide_password=False)

    result = run_probe(
        "webhooks",
        {"DATABASE_URL": plain_url},
        config_table=f"{schema}.webhook_config",
        events_table=f"{schema}.webhook_events",
    )

    assert result.status == Status.OPERATIONAL, result.reason
    assert result.values["active_hooks"] == 2


def test_it_is_down_when_a_table_lacks_the_configured_column(
    host_db, run_probe
) -> None:
    hostapp.add_hooks(host_db.engine, host_db.tables, active=1, inactive=0)

    result = run_probe(
        "webhooks", {"DATABASE_URL": host_db.url}, active_column="enabled"
    )

    assert result.status == Status.DOWN
    assert "enabled" in result.reason
