"""Database probes sharing one ProbeContext, as every probe of the collector does."""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from collector import probes
from collector.probes.base import POOL_OVERFLOW, POOL_SIZE
from shared.config import parse
from shared.model import Status

pytestmark = pytest.mark.integration

# PostgreSQL's words when statement_timeout or lock_timeout, both set to the probe's
# timeout, stops a query.
CANCELED = re.compile(r"canceling statement due to (lock|statement) timeout")


def build_sharing(url: str, services: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Build several services' probes on one context, the collector's way."""
    document = {
        "services": {
            name: {"interval": 60, **settings} for name, settings in services.items()
        }
    }
    config = parse(document, "test", probes.option_models())
    context = probes.ProbeContext(environ={"DATABASE_URL": url})
    return {service.name: probes.build(service, context) for service in config.services}


@pytest.fixture
def shared_probes(pg_host) -> Iterator[dict[str, Any]]:
    built = build_sharing(
        pg_host.url,
        {
            "quick": {"kind": "sql", "timeout": 0.5},
            "patient": {"kind": "automation", "timeout": 5},
        },
    )
    yield built
    next(iter(built.values())).context.close()


@contextmanager
def locked_for(engine: sa.Engine, table: str, seconds: float) -> Iterator[None]:
    """Hold an exclusive lock on `table` for `seconds`, as a long migration would."""
    connection = engine.connect()
    transaction = connection.begin()
    connection.execute(sa.text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
    timer = threading.Timer(seconds, transaction.rollback)
    timer.start()
    try:
        yield
    finally:
        timer.join()
        connection.close()


def test_each_probe_keeps_its_own_timeout_on_a_shared_url(
    pg_host, shared_probes
) -> None:
    quick, patient = shared_probes["quick"], shared_probes["patient"]
    assert quick.check(probes.Deadline(0.5)).status == Status.OPERATIONAL

    # Locked for longer than the quick probe's limit, well within the patient one's.
    with locked_for(pg_host.engine, "automation_logs", 1):
        result = patient.check(probes.Deadline(5))

    assert result.status == Status.OPERATIONAL, result.reason


def test_a_table_locked_past_the_timeout_is_down_with_the_reason(
    pg_host, run_probe
) -> None:
    with locked_for(pg_host.engine, "webhook_config", 1):
        result = run_probe("webhooks", {"DATABASE_URL": pg_host.url}, timeout=0.5)

    assert result.status == Status.DOWN
    assert CANCELED.search(result.reason), result.reason
    assert "\n" not in result.reason


def test_services_sharing_an_engine_each_get_a_connection_or_give_up_in_time(
    pg_engine: sa.Engine,
) -> None:
    url = pg_engine.url.render_as_string(hide_password=False)
    context = probes.ProbeContext(environ={"DATABASE_URL": url})
    engine = context.engine("DATABASE_URL", 0.5)
    try:
        with contextlib.ExitStack() as held:
            # The default configuration's four database services, a hung run of
            # each, and room to spare: none of them waits on the pool.
            for _ in range(POOL_SIZE + POOL_OVERFLOW):
                held.enter_context(engine.connect())

            # Past that, a probe waits for a connection no longer than its timeout.
            with pytest.raises(sa.exc.TimeoutError):
                engine.connect()
    finally:
        context.close()

    assert POOL_SIZE + POOL_OVERFLOW >= 8
    assert isinstance(engine.pool, sa.pool.QueuePool)
    assert engine.pool.timeout() == 0.5
