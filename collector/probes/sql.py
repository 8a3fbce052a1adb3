"""`sql`: the database round trip (`SELECT 1`) and how many sessions it serves.

Active connections by database:
- PostgreSQL: client backends of the current database in `pg_stat_activity`, but
  for statusd's own.
- MySQL / MariaDB: threads of the current schema in `information_schema.PROCESSLIST`.
- SQLite and others: not measured (`null`): there is no server to ask.
"""

from __future__ import annotations

import logging
import time

import sqlalchemy as sa
from pydantic import Field

from collector.probes.base import (
    APPLICATION_NAME,
    Deadline,
    ProbeContext,
    elapsed_ms,
    slow,
)
from collector.probes.database import DatabaseOptions, DatabaseProbe, describe_error
from shared.config import ServiceConfig
from shared.model import ProbeResult

log = logging.getLogger(__name__)

# The round trip measured; the cheapest statement every database answers.
ROUND_TRIP = "SELECT 1"

CONNECTION_QUERIES = {
    # statusd's own pooled connections (application_name "statusd", set in
    # make_engine) are left out: they are ours, not the app's, and would show an idle
    # app as busy. No filter on `state`: a role without pg_monitor sees other users'
    # state as null, and would count nobody.
    "postgresql": (
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND backend_type = 'client backend'"
        f" AND application_name IS DISTINCT FROM '{APPLICATION_NAME}'"
    ),
    "mysql": "SELECT count(*) FROM information_schema.PROCESSLIST WHERE DB = DATABASE()",
    "mariadb": "SELECT count(*) FROM information_schema.PROCESSLIST WHERE DB = DATABASE()",
}


class SqlOptions(DatabaseOptions):
    degraded_ms: int = Field(500, gt=0, description="a slower SELECT 1 is degraded")


class SqlProbe(DatabaseProbe):
    kind = "sql"
    Options = SqlOptions

    def __init__(self, service: ServiceConfig, context: ProbeContext):
        super().__init__(service, context)
        self.counting_failed = False

    def check(self, deadline: Deadline) -> ProbeResult:
        try:
            with self.engine().connect() as connection:
                started = time.perf_counter()
                connection.execute(sa.text(ROUND_TRIP)).scalar_one()
                latency = elapsed_ms(started)
                sessions = self.count_sessions(connection)
        except sa.exc.SQLAlchemyError as error:
            return ProbeResult.down(f"database unreachable: {describe_error(error)}")

        if latency > self.options.degraded_ms:
            reason = slow(latency, self.options.degraded_ms)
            return ProbeResult.degraded(reason, latency, active_connections=sessions)
        return ProbeResult.operational(latency, active_connections=sessions)

    def count_sessions(self, connection: sa.Connection) -> int | None:
        query = CONNECTION_QUERIES.get(connection.dialect.name)
        if query is None:
            return None
        try:
            count = int(connection.execute(sa.text(query)).scalar_one())
        except sa.exc.SQLAlchemyError as error:
            # A role without the right to read the view still has a working database.
            # PostgreSQL refuses every later statement of a transaction that failed:
            # rolled back, the connection goes back to the pool usable.
            connection.rollback()
            self.cannot_count(error)
            return None
        self.counting_failed = False
        return count

    def cannot_count(self, error: sa.exc.SQLAlchemyError) -> None:
        """Warn once while counting keeps failing: it fails the same way every time."""
        level = logging.DEBUG if self.counting_failed else logging.WARNING
        self.counting_failed = True
        log.log(
            level,
            "service=%s cannot count sessions: %s",
            self.service.name,
            describe_error(error),
        )
