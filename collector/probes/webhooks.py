"""`webhooks`: how many of the host app's webhooks are active, and its newest event."""

from __future__ import annotations

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
from shared.model import ProbeResult, to_iso


class WebhooksOptions(DatabaseOptions):
    config_table: TableName = "webhook_config"
    active_column: ColumnName = "active"
    events_table: TableName = "webhook_events"
    received_column: ColumnName = "received_at"
    min_active: int = Field(
        1, ge=0, description="fewer active hooks than this is degraded"
    )


class WebhooksProbe(DatabaseProbe):
    kind = "webhooks"
    Options = WebhooksOptions

    def check(self, deadline: Deadline) -> ProbeResult:
        options: WebhooksOptions = self.options
        active: sa.ColumnClause[Any] = sa.column(options.active_column)
        received: sa.ColumnClause[Any] = sa.column(options.received_column)
        count_active = (
            sa.select(sa.func.count())
            .select_from(table(options.config_table, active))
            .where(active == sa.true())
        )
        newest_event = sa.select(sa.func.max(received)).select_from(
            table(options.events_table, received)
        )

        try:
            with self.engine().connect() as connection:
                hooks = int(connection.execute(count_active).scalar_one())
                newest = connection.execute(newest_event).scalar_one()
        except sa.exc.SQLAlchemyError as error:
            return ProbeResult.down(
                f"webhook tables unreadable: {describe_error(error)}"
            )

        values: dict[str, Any] = {
            "active_hooks": hooks,
            "last_event_at": to_iso(as_utc(newest)),
        }
        if hooks < options.min_active:
            return ProbeResult.degraded(f"{hooks} active webhooks", **values)
        return ProbeResult.operational(**values)
