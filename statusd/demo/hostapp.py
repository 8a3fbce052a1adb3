"""A pretend host app for the demo: its tables in SQLite, filled over time.

The tables are the ones the contract names (webhooks, automation log, APScheduler
job store). `tick()` makes the app live: events arrive, workflows run, and a
running scheduler moves its jobs' next run forward when they fall due. The demo's
script can stop the scheduler or make workflows fail, so the probes have
something real to notice.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

import sqlalchemy as sa

log = logging.getLogger(__name__)

metadata = sa.MetaData()

webhook_config = sa.Table(
    "webhook_config",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("url", sa.String(200)),
    sa.Column("active", sa.Boolean, nullable=False),
)
webhook_events = sa.Table(
    "webhook_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("event_type", sa.String(50)),
    sa.Column("received_at", sa.DateTime),
    sa.Column("status", sa.String(20)),
)
automation_logs = sa.Table(
    "automation_logs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("workflow_name", sa.String(100)),
    sa.Column("status", sa.String(20)),
    sa.Column("created_at", sa.DateTime),
    sa.Column("execution_time", sa.Float),
    sa.Column("error_message", sa.Text, nullable=True),
)
apscheduler_jobs = sa.Table(
    "apscheduler_jobs",
    metadata,
    sa.Column("id", sa.String(191), primary_key=True),
    sa.Column("next_run_time", sa.Float, index=True),
    sa.Column("job_state", sa.LargeBinary, nullable=False),
)

WORKFLOWS = ("publish-scheduled-posts", "reply-to-dms", "sync-insights", "tag-mentions")
EVENT_TYPES = ("comments", "mentions", "messages", "story_insights")
# (job id, seconds between runs); one more job is paused (no next run).
JOBS = (
    ("refresh-tokens", 900),
    ("sync-insights", 300),
    ("publish-queue", 60),
    ("cleanup-media", 3600),
    ("rebuild-embeddings", 1800),
    ("digest-email", 86400),
)


class DemoHostApp:
    def __init__(self, url: str, *, seed: int = 7):
        self.engine = sa.create_engine(url)
        self.random = random.Random(seed)
        self.scheduler_running = True
        self.failure_share = 0.04
        self._intervals = dict(JOBS)

    def create(self, now: datetime) -> None:
        """Make the tables and a day of history."""
        metadata.create_all(self.engine)
        with self.engine.begin() as connection:
            connection.execute(
                webhook_config.insert(),
                [
                    {"url": f"https://app.example/hooks/{n}", "active": n != 4}
                    for n in range(1, 5)
                ],
            )
            for minutes_ago in range(24 * 60, 0, -20):
                self._run_workflow(connection, now - timedelta(minutes=minutes_ago))
            self._receive_event(connection, now - timedelta(minutes=3))
            jobs = [
                self._job(
                    job_id, now + timedelta(seconds=self.random.uniform(20, every))
                )
                for job_id, every in JOBS
            ]
            jobs.append(
                {"id": "paused-report", "next_run_time": None, "job_state": b"\x80"}
            )
            connection.execute(apscheduler_jobs.insert(), jobs)
        log.info("demo host app tables created in %s", self.engine.url)

    def tick(self, now: datetime, seconds: float) -> None:
        """Advance the app by `seconds`: events, workflow runs, scheduler."""
        with self.engine.begin() as connection:
            if self.random.random() < seconds / 20:
                self._receive_event(connection, now)
            if self.random.random() < seconds / 15:
                self._run_workflow(connection, now)
            if self.scheduler_running:
                self._advance_jobs(connection, now)

    def fail_burst(self, now: datetime, count: int = 7) -> None:
        """Log failed runs, dated so that they leave the last hour two minutes later."""
        with self.engine.begin() as connection:
            for n in range(count):
                created = now - timedelta(minutes=58, seconds=n)
                self._log_run(connection, created, "failed", "upstream returned 502")

    def _receive_event(self, connection: sa.Connection, at: datetime) -> None:
        event = {
            "event_type": self.random.choice(EVENT_TYPES),
            "received_at": _naive(at),
            "status": "processed",
        }
        connection.execute(webhook_events.insert(), [event])

    def _run_workflow(self, connection: sa.Connection, at: datetime) -> None:
        failed = self.random.random() < self.failure_share
        error = "timeout calling Graph API" if failed else None
        self._log_run(connection, at, "failed" if failed else "success", error)

    def _log_run(
        self, connection: sa.Connection, at: datetime, status: str, error: str | None
    ) -> None:
        run = {
            "workflow_name": self.random.choice(WORKFLOWS),
            "status": status,
            "created_at": _naive(at),
            "execution_time": round(self.random.uniform(0.2, 4.0), 2),
            "error_message": error,
        }
        connection.execute(automation_logs.insert(), [run])

    def _advance_jobs(self, connection: sa.Connection, now: datetime) -> None:
        due = connection.execute(
            sa.select(apscheduler_jobs.c.id, apscheduler_jobs.c.next_run_time).where(
                apscheduler_jobs.c.next_run_time <= now.timestamp()
            )
        ).all()
        for job_id, next_run in due:
            every = self._intervals.get(job_id, 600)
            while next_run <= now.timestamp():
                next_run += every
            connection.execute(
                apscheduler_jobs.update()
                .where(apscheduler_jobs.c.id == job_id)
                .values(next_run_time=next_run)
            )

    def _job(self, job_id: str, next_run: datetime) -> dict[str, object]:
        # Real job stores hold a pickle here; statusd never reads it.
        return {
            "id": job_id,
            "next_run_time": next_run.timestamp(),
            "job_state": b"\x80",
        }

    def close(self) -> None:
        self.engine.dispose()


def _naive(instant: datetime) -> datetime:
    """The contract's tables hold naive timestamps that mean UTC."""
    return instant.replace(tzinfo=None)
