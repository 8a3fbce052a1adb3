"""The `scheduler` probe on APScheduler 3 job stores: SQL tables and the real Redis."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from datetime import datetime, timedelta

import hostapp
import pytest
import redis
from apscheduler.jobstores.redis import RedisJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from shared.fields import render_fields
from shared.model import Status, from_iso, utcnow

pytestmark = pytest.mark.integration

MINUTE = timedelta(minutes=1)
JOBS_KEY = "apscheduler.jobs"
RUN_TIMES_KEY = "apscheduler.run_times"


def test_it_counts_every_job_and_finds_the_earliest_run(host_db, run_probe) -> None:
    now = hostapp.now()
    next_runs = {
        "digest": now + 15 * MINUTE,
        "paused-report": None,
        "cleanup": now + 60 * MINUTE,
        "refresh-tokens": now + 2 * MINUTE,
    }
    hostapp.add_jobs(host_db.engine, host_db.tables, next_runs)

    result = run_probe("scheduler", {"DATABASE_URL": host_db.url})

    assert result.status == Status.OPERATIONAL, result.reason
    assert result.values["jobs_queued"] == 4
    assert from_iso(result.values["next_run_at"]) == now + 2 * MINUTE


def test_it_is_down_when_a_job_is_overdue_beyond_the_grace(host_db, run_probe) -> None:
    now = hostapp.now()
    next_runs = {"digest": now - 10 * MINUTE, "cleanup": now + 60 * MINUTE}
    hostapp.add_jobs(host_db.engine, host_db.tables, next_runs)

    result = run_probe("scheduler", {"DATABASE_URL": host_db.url})

    assert result.status == Status.DOWN
    assert "10m overdue" in result.reason
    assert "not running" in result.reason
    assert result.values["jobs_queued"] == 2


def test_it_lets_a_job_be_late_within_the_configured_grace(host_db, run_probe) -> None:
    hostapp.add_jobs(
        host_db.engine, host_db.tables, {"digest": hostapp.now() - 10 * MINUTE}
    )

    result = run_probe(
        "scheduler", {"DATABASE_URL": host_db.url}, overdue_grace=15 * 60
    )

    assert result.status == Status.OPERATIONAL, result.reason
    assert render_fields("scheduler", result.values, utcnow())["nextRun"] == "0m"


def test_it_is_degraded_with_no_jobs(host_db, run_probe) -> None:
    result = run_probe("scheduler", {"DATABASE_URL": host_db.url})

    assert result.status == Status.DEGRADED
    assert result.values == {"jobs_queued": 0, "next_run_at": None}
    shown = render_fields("scheduler", result.values, utcnow())
    assert shown == {"jobsQueued": 0, "nextRun": "None"}


def test_it_has_no_next_run_when_every_job_is_paused(host_db, run_probe) -> None:
    hostapp.add_jobs(host_db.engine, host_db.tables, {"a": None, "b": None})

    result = run_probe("scheduler", {"DATABASE_URL": host_db.url})

    assert result.status == Status.OPERATIONAL, result.reason
    assert result.values == {"jobs_queued": 2, "next_run_at": None}


def test_it_reads_a_job_table_under_a_configured_name(host_db, run_probe) -> None:
    renamed = hostapp.create(host_db.engine, {"apscheduler_jobs": "host_jobs"})
    soon = hostapp.now() + 5 * MINUTE
    hostapp.add_jobs(host_db.engine, renamed, {"a": soon, "b": None, "c": None})

    result = run_probe("scheduler", {"DATABASE_URL": host_db.url}, table="host_jobs")

    assert result.values["jobs_queued"] == 3
    assert from_iso(result.values["next_run_at"]) == soon


def test_it_is_down_with_the_drivers_first_line_when_the_table_is_missing(
    host_db, run_probe
) -> None:
    host_db.tables.jobs.drop(host_db.engine)

    result = run_probe("scheduler", {"DATABASE_URL": host_db.url})

    assert result.status == Status.DOWN
    assert "apscheduler_jobs" in result.reason
    assert "\n" not in result.reason


# The Redis job store.


def add_redis_jobs(client: redis.Redis, next_runs: dict[str, datetime | None]) -> None:
    """Store jobs the way RedisJobStore does: state in a hash, run times in a zset."""
    pipe = client.pipeline()
    for job_id, at in next_runs.items():
        pipe.hset(JOBS_KEY, job_id, hostapp.job_state(job_id))
        if at is not None:
            pipe.zadd(RUN_TIMES_KEY, {job_id: at.timestamp()})
    pipe.execute()


def test_it_reads_a_redis_job_store(real_redis, real_redis_url, run_probe) -> None:
    now = hostapp.now()
    add_redis_jobs(
        real_redis,
        {"digest": now + 15 * MINUTE, "paused": None, "refresh": now + 3 * MINUTE},
    )

    result = run_probe(
        "scheduler",
        {"JOBS_REDIS_URL": real_redis_url},
        store="redis",
        url_env="JOBS_REDIS_URL",
    )

    assert result.status == Status.OPERATIONAL, result.reason
    assert result.values["jobs_queued"] == 3
    assert from_iso(result.values["next_run_at"]) == now + 3 * MINUTE


def test_it_is_down_when_a_redis_job_is_overdue(
    real_redis, real_redis_url, run_probe
) -> None:
    add_redis_jobs(real_redis, {"digest": hostapp.now() - 30 * MINUTE})

    result = run_probe(
        "scheduler",
        {"JOBS_REDIS_URL": real_redis_url},
        store="redis",
        url_env="JOBS_REDIS_URL",
    )

    assert result.status == Status.DOWN
    assert "30m overdue" in result.reason


def test_it_is_degraded_with_an_empty_redis_job_store(
    real_redis_url, run_probe
) -> None:
    result = run_probe(
        "scheduler",
        {"JOBS_REDIS_URL": real_redis_url},
        store="redis",
        url_env="JOBS_REDIS_URL",
    )

    assert result.status == Status.DEGRADED
    assert result.values == {"jobs_queued": 0, "next_run_at": None}


def test_it_reads_configured_redis_keys(real_redis, real_redis_url, run_probe) -> None:
    soon = hostapp.now() + 7 * MINUTE
    real_redis.hset("app:jobs", "digest", pickle.dumps({"id": "digest"}))
    real_redis.zadd("app:run_times", {"digest": soon.timestamp()})

    result = run_probe(
        "scheduler",
        {"JOBS_REDIS_URL": real_redis_url},
        store="redis",
        url_env="JOBS_REDIS_URL",
        jobs_key="app:jobs",
        run_times_key="app:run_times",
    )

    assert result.values["jobs_queued"] == 1
    assert from_iso(result.values["next_run_at"]) == soon


def test_it_is_down_with_a_clear_reason_when_redis_refuses(run_probe) -> None:
    result = run_probe(
        "scheduler",
        {"JOBS_REDIS_URL": "redis://:hunter2-secret@127.0.0.1:1/0"},
        store="redis",
        url_env="JOBS_REDIS_URL",
        timeout=2,
    )

    assert result.status == Status.DOWN
    assert "ConnectionError" in result.reason and "refused" in result.reason
    assert "hunter2-secret" not in result.reason


# Stores written by APScheduler itself, not by our imitation of its layout.


@pytest.fixture
def paused_scheduler() -> Iterator[BackgroundScheduler]:
    scheduler = BackgroundScheduler(timezone="UTC")
    yield scheduler
    if scheduler.running:
        scheduler.shutdown(wait=False)


def fill_with_apscheduler(scheduler: BackgroundScheduler, store: object) -> datetime:
    """Let APScheduler store two jobs, one paused; return the other's next run."""
    scheduler.add_jobstore(store)
    # Paused, the scheduler writes jobs to the store but never runs them.
    scheduler.start(paused=True)
    job = scheduler.add_job("time:time", "interval", minutes=15, id="digest")
    scheduler.add_job("time:time", "interval", hours=1, id="report", next_run_time=None)
    return job.next_run_time


def test_it_reads_a_sql_store_apscheduler_wrote(
    pg_schema, paused_scheduler, run_probe
) -> None:
    url, _schema = pg_schema
    next_run = fill_with_apscheduler(paused_scheduler, SQLAlchemyJobStore(url=url))

    result = run_probe("scheduler", {"DATABASE_URL": url})

    assert result.status == Status.OPERATIONAL, result.reason
    assert result.values["jobs_queued"] == 2
    assert from_iso(result.values["next_run_at"]) == next_run.replace(microsecond=0)


def test_it_reads_a_redis_store_apscheduler_wrote(
    real_redis, real_redis_url, paused_scheduler, run_probe
) -> None:
    where = real_redis.connection_pool.connection_kwargs
    store = RedisJobStore(host=where["host"], port=where["port"], db=where["db"])
    next_run = fill_with_apscheduler(paused_scheduler, store)

    result = run_probe(
        "scheduler",
        {"JOBS_REDIS_URL": real_redis_url},
        store="redis",
        url_env="JOBS_REDIS_URL",
    )

    assert result.status == Status.OPERATIONAL, result.reason
    assert result.values["jobs_queued"] == 2
    assert from_iso(result.values["next_run_at"]) == next_run.replace(microsecond=0)


def test_an_absurd_next_run_time_is_down_not_a_crash() -> None:
    from collector.probes.scheduler import SchedulerProbe

    probe = SchedulerProbe.__new__(SchedulerProbe)
    probe.options = SchedulerProbe.Options()

    result = probe.judge(3, 1e20)

    assert result.status.value == "down"
    assert "no time" in (result.reason or "")
