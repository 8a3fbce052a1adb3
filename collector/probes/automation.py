"""`automation`: the host app's automation log: success rate, failures, newest run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import Field

from collector.probes.base import Deadline
from collector.probes.database import (
    ColumnName,
    DatabaseOptions,
    DatabaseProbe,
    TableName,
    as_utc,
    describe_error,
    table,
)
from shared.model import ProbeResult, to_iso, utcnow


class AutomationOptions(DatabaseOptions):
    table: TableName = "automation_logs"
    status_column: ColumnName = "status"
    created_column: ColumnName = "created_at"
    success_value: str = "success"
    failure_values: list[str] = Field(default_factory=lambda: ["failed"])
    rate_window_hours: float = Field(
        24, ge=1, le=24 * 366, description="window of successRate"
    )
    max_failures_per_hour: int = Field(5, ge=0, description="more failures: degraded")
    min_success_rate: float | None = Field(
        None, ge=0, le=100, description="a lower success rate (percent) is degraded"
    )


class AutomationProbe(DatabaseProbe):
    kind = "automation"
    Options = AutomationOptions

    def check(self, deadline: Deadline) -> ProbeResult:
        options: AutomationOptions = self.options
        status: sa.ColumnClause[Any] = sa.column(options.status_column)
        created: sa.ColumnClause[Any] = sa.column(options.created_column)
        logs = table(options.table, status, created)
        # Timestamps are stored naive in UTC; compare with a naive UTC instant made
        # here, so the database's own time zone setting plays no part.
        now = utcnow().replace(tzinfo=None)
        hour_ago = now - timedelta(hours=1)

        def counted(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
            return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

        window = sa.select(
            sa.func.count(),
            counted(status == options.success_value),
            counted(status.in_(options.failure_values) & (created >= hour_ago)),
        ).where(created >= now - timedelta(hours=options.rate_window_hours))
        newest = sa.select(sa.func.max(created)).select_from(logs)

        try:
            with self.engine().connect() as connection:
                runs, successes, recent_failures = connection.execute(
                    window.select_from(logs)
                ).one()
                last_run = connection.execute(newest).scalar_one()
        except sa.exc.SQLAlchemyError as error:
            return ProbeResult.down(
                f"automation log unreadable: {describe_error(error)}"
            )

        rate = round(100 * successes / runs, 1) if runs else None
        values = {
            "success_rate_pct": rate,
            "last_triggered_at": to_iso(as_utc(last_run)),
        }
        return self.judge(rate, int(recent_failures), values)

    def judge(
        self, rate: float | None, recent_failures: int, values: dict
    ) -> ProbeResult:
        options: AutomationOptions = self.options
        if recent_failures > options.max_failures_per_hour:
            return ProbeResult.degraded(
                f"{recent_failures} failed runs in the last hour", **values
            )
        threshold = options.min_success_rate
        if rate is not None and threshold is not None and rate < threshold:
            reason = f"success rate {rate:g}% below {threshold:g}%"
            return ProbeResult.degraded(reason, **values)
        return ProbeResult.operational(**values)
