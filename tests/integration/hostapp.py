"""The host app's tables, as the contract describes them, and known rows to put in them.

Tests build the tables with SQLAlchemy on PostgreSQL or SQLite, insert rows whose
counts and instants they know, then check what the probes read back. The column
types are the host app's: `apscheduler_jobs` mirrors APScheduler 3's SQLAlchemy job
store (`id` varchar(191) key, `next_run_time` double precision, `job_state` bytes).
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

DEFAULT_NAMES = {
    "webhook_config": "webhook_config",
    "webhook_events": "webhook_events",
    "automation_logs": "automation_logs",
    "apscheduler_jobs": "apscheduler_jobs",
}


@dataclass(frozen=True)
class HostTables:
    """The four tables of one host app database, under whatever names it uses."""

    metadata: sa.MetaData
    hooks: sa.Table
    events: sa.Table
    runs: sa.Table
    jobs: sa.Table


def define(
    names: dict[str, str] | None = None, schema: str | None = None
) -> HostTables:
    """Describe the host app's tables; `names` renames any, `schema` places them."""
    names = {**DEFAULT_NAMES, **(names or {})}
    metadata = sa.MetaData(schema=schema)
    hooks = sa.Table(
        names["webhook_config"],
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
    )
    events = sa.Table(
        names["webhook_events"],
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("event_type", sa.String(50)),
        sa.Column("received_at", sa.DateTime),
        sa.Column("status", sa.String(20)),
    )
    runs = sa.Table(
        names["automation_logs"],
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("workflow_name", sa.String(100)),
        sa.Column("status", sa.String(20)),
        sa.Column("created_at", sa.DateTime),
        sa.Column("execution_time", sa.Float),
        sa.Column("error_message", sa.Text, nullable=True),
    )
    # APScheduler 3's SQLAlchemyJobStore declares exactly these three columns.
    jobs = sa.Table(
        names["apscheduler_jobs"],
        metadata,
        sa.Column("id", sa.Unicode(191), primary_key=True),
        sa.Column("next_run_time", sa.Float(25), index=True),
        sa.Column("job_state", sa.LargeBinary, nullable=False),
    )
    return HostTables(metadata, hooks, events, runs, jobs)


def create(
    engine: sa.Engine,
    names: dict[str, str] | None = None,
    schema: str | None = None,
) -> HostTables:
    """Create the host app's tables in the database `engine` points at."""
    tables = define(names, schema)
    tables.metadata.create_all(engine)
    return tables


def naive_utc(instant: datetime) -> datetime:
    """Return `instant` as the host app stores it: without a zone, meaning UTC."""
    return instant.astimezone(UTC).replace(tzinfo=None)


def now() -> datetime:
    """Return now in UTC to the second, so that a stored instant reads back exactly."""
    return datetime.now(UTC).replace(microsecond=0)


def add_hooks(
    engine: sa.Engine, tables: HostTables, active: int, inactive: int
) -> None:
    rows = [
        {"url": f"https://app.example/hooks/{number}", "active": number < active}
        for number in range(active + inactive)
    ]
    if rows:
        _insert(engine, tables.hooks, rows)


def add_events(
    engine: sa.Engine, tables: HostTables, received: Iterable[datetime]
) -> None:
    rows = [
        {"event_type": "message", "received_at": naive_utc(at), "status": "processed"}
        for at in received
    ]
    _insert(engine, tables.events, rows)


def add_runs(
    engine: sa.Engine, tables: HostTables, runs: Iterable[tuple[str, datetime]]
) -> None:
    """Add automation runs, each a (status, when) pair."""
    rows = [
        {
            "workflow_name": "daily-digest",
            "status": status,
            "created_at": naive_utc(at),
            "execution_time": 1.25,
            "error_message": "upstream timed out" if status == "failed" else None,
        }
        for status, at in runs
    ]
    _insert(engine, tables.runs, rows)


def add_jobs(
    engine: sa.Engine, tables: HostTables, next_runs: dict[str, datetime | None]
) -> None:
    """Add jobs by id with their next run; None is a paused job."""
    rows = [
        {
            "id": job_id,
            "next_run_time": at.timestamp() if at else None,
            "job_state": job_state(job_id),
        }
        for job_id, at in next_runs.items()
    ]
    _insert(engine, tables.jobs, rows)


def job_state(job_id: str) -> bytes:
    """Pickle bytes shaped like APScheduler's job state; nobody should unpickle them."""
    state = {"version": 1, "id": job_id, "func": "app.jobs:publish", "args": ()}
    return pickle.dumps(state, pickle.HIGHEST_PROTOCOL)


def _insert(engine: sa.Engine, table: sa.Table, rows: list[dict]) -> None:
    with engine.begin() as connection:
        connection.execute(table.insert(), rows)
