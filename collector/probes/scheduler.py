"""`scheduler`: the host app's APScheduler 3 job store, read from outside the app.

Only the columns and keys APScheduler keeps in the clear are read (`next_run_time`,
the run-times sorted set); pickled job state is never touched, let alone unpickled.
A job overdue beyond the grace period means the app's scheduler is not running:
a running one moves `next_run_time` forward as soon as a job is due.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import redis
import sqlalchemy as sa
from pydantic import Field, model_validator

from collector.probes.base import Deadline, Probe, summary
from collector.probes.database import TableName, describe_error, table
from shared.config import Strict
from shared.model import ProbeResult, to_iso, utcnow


class SchedulerOptions(Strict):
    store: Literal["sql", "redis"] = "sql"
    url_env: str | None = Field(
        None, description="variable with the store's URL; DATABASE_URL for sql"
    )
    table: TableName = "apscheduler_jobs"
    jobs_key: str = "apscheduler.jobs"
    run_times_key: str = "apscheduler.run_times"
    overdue_grace: float = Field(120, ge=0, description="seconds a job may be late")
    min_jobs: int = Field(1, ge=0, description="fewer jobs than this is degraded")

    @model_validator(mode="after")
    def _store_url(self) -> SchedulerOptions:
        if self.url_env is None and self.store == "redis":
            raise ValueError("url_env is required with store = 'redis'")
        return self

    @property
    def store_url_env(self) -> str:
        return self.url_env or "DATABASE_URL"


class SchedulerProbe(Probe):
    kind = "scheduler"
    Options = SchedulerOptions

    def check(self, deadline: Deadline) -> ProbeResult:
        options: SchedulerOptions = self.options
        try:
            if options.store == "sql":
                jobs, earliest = self.read_sql()
            else:
                jobs, earliest = self.read_redis()
        except sa.exc.SQLAlchemyError as error:
            return ProbeResult.down(f"job store unreadable: {describe_error(error)}")
        except redis.exceptions.RedisError as error:
            return ProbeResult.down(f"job store unreadable: {summary(error)}")
        return self.judge(jobs, earliest)

    def read_sql(self) -> tuple[int, float | None]:
        next_run: sa.ColumnClause[Any] = sa.column("next_run_time")
        query = sa.select(sa.func.count(), sa.func.min(next_run)).select_from(
            table(self.options.table, next_run)
        )
        engine = self.context.engine(self.options.store_url_env, self.service.timeout)
        with engine.connect() as connection:
            jobs, earliest = connection.execute(query).one()
        return int(jobs), None if earliest is None else float(earliest)

    def read_redis(self) -> tuple[int, float | None]:
        client = self.context.redis_client(
            self.options.store_url_env, self.service.timeout
        )
        pipe = client.pipeline(transaction=False)
        pipe.hlen(self.options.jobs_key)
        pipe.zrange(self.options.run_times_key, 0, 0, withscores=True)
        jobs, first = pipe.execute()
        return int(jobs), float(first[0][1]) if first else None

    def judge(self, jobs: int, earliest: float | None) -> ProbeResult:
        options: SchedulerOptions = self.options
        try:
            next_run = instant_of(earliest)
        except (OverflowError, OSError, ValueError):
            return ProbeResult.down(
                f"job store holds a next run time that is no time: {earliest}"
            )
        values: dict[str, Any] = {"jobs_queued": jobs, "next_run_at": to_iso(next_run)}

        if next_run is not None:
            late = (utcnow() - next_run).total_seconds()
            if late > options.overdue_grace:
                reason = (
                    f"a job is {format_delay(late)} overdue: "
                    "the app's scheduler is not running"
                )
                return ProbeResult.down(reason, **values)
        if jobs < options.min_jobs:
            return ProbeResult.degraded(f"{jobs} jobs in the job store", **values)
        return ProbeResult.operational(**values)


def instant_of(unix_seconds: float | None) -> datetime | None:
    """A job store's `next_run_time` as an instant; raise when it is out of range."""
    if unix_seconds is None:
        return None
    return datetime.fromtimestamp(unix_seconds, UTC)


def format_delay(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes}m" if minutes else f"{int(seconds)}s"
