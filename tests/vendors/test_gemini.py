"""The `gemini` probe: the key in its header, and the quota from the app's own counter."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from vendor_kit import Rig

from shared.config import ConfigError
from shared.fields import render_fields
from shared.model import Status, utcnow
from shared.store import StatusStore
from statusd.embedded import EmbeddedRedis
from statusd.imitations import Mode, RecordedRequest, Reply

RigOf = Callable[[str], Rig]


@pytest.fixture
def gemini(rig_of: RigOf) -> Rig:
    return rig_of("gemini")


@pytest.fixture
def app_redis() -> Iterator[tuple[str, redis.Redis]]:
    """The host app's Redis, on a real port: (URL, client)."""
    server = EmbeddedRedis().start()
    client = redis.Redis.from_url(server.url, decode_responses=True)
    yield server.url, client
    client.close()
    server.stop()


@pytest.fixture
def app_database(tmp_path: Path) -> Iterator[tuple[str, sa.Engine]]:
    """The host app's database with a usage table: (URL, engine)."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE gemini_usage (day TEXT, calls INT)"))
    yield url, engine
    engine.dispose()


def today() -> str:
    return utcnow().date().isoformat()


def quota_of(value: Any) -> str:
    return render_fields("geminiApi", {"quota_used_pct": value}, utcnow())[
        "quotaUsedToday"
    ]


def redis_quota(limit: int = 1000, **extra: Any) -> dict[str, Any]:
    return {
        "daily_limit": limit,
        "redis_url_env": "APP_REDIS_URL",
        "redis_key": "gemini:calls:{date}",
        **extra,
    }


SQL_COUNT = "SELECT calls FROM gemini_usage WHERE day = :day"


def test_the_key_travels_in_x_goog_api_key_never_in_the_url(gemini: Rig):
    gemini.check()

    request = gemini.imitation.requests[0]
    assert request.path == "/v1beta/models"
    assert request.header("x-goog-api-key") == gemini.vendor.secret
    assert "key" not in request.params
    assert gemini.vendor.secret not in request.target


def test_without_a_counter_the_quota_is_not_measured(gemini: Rig):
    result = gemini.check()

    assert result.status is Status.OPERATIONAL
    assert "quota_used_pct" not in result.values
    assert quota_of(result.values.get("quota_used_pct")) == "N/A"


def test_the_quota_comes_from_today_s_redis_counter(
    gemini: Rig, app_redis: tuple[str, redis.Redis]
):
    url, client = app_redis
    client.set(f"gemini:calls:{today()}", 300)
    client.set("gemini:calls:2000-01-01", 999)
    environ = {**gemini.environ, "APP_REDIS_URL": url}

    result = gemini.check(gemini.probe(environ=environ, quota=redis_quota()))

    assert result.status is Status.OPERATIONAL
    assert result.values == {"quota_used_pct": 30.0}
    assert quota_of(result.values["quota_used_pct"]) == "30%"


def test_a_quota_used_above_the_threshold_is_degraded(
    gemini: Rig, app_redis: tuple[str, redis.Redis]
):
    url, client = app_redis
    client.set(f"gemini:calls:{today()}", 850)
    environ = {**gemini.environ, "APP_REDIS_URL": url}

    result = gemini.check(gemini.probe(environ=environ, quota=redis_quota()))

    assert result.status is Status.DEGRADED
    assert result.reason == "daily quota 85% used (above 80%)"
    assert result.values == {"quota_used_pct": 85.0}


def test_no_counter_yet_today_means_nothing_used(
    gemini: Rig, app_redis: tuple[str, redis.Redis]
):
    url, _ = app_redis
    environ = {**gemini.environ, "APP_REDIS_URL": url}

    result = gemini.check(gemini.probe(environ=environ, quota=redis_quota()))

    assert result.values == {"quota_used_pct": 0.0}


def test_the_quota_comes_from_a_sql_query(
    gemini: Rig, app_database: tuple[str, sa.Engine]
):
    url, engine = app_database
    with engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO gemini_usage VALUES (:day, 1234), ('1999-01-01', 5)"),
            {"day": today()},
        )
    environ = {**gemini.environ, "DATABASE_URL": url}
    quota = {"daily_limit": 1500, "sql": SQL_COUNT, "threshold_pct": 90}

    result = gemini.check(gemini.probe(environ=environ, quota=quota))

    assert result.status is Status.OPERATIONAL
    assert result.values == {"quota_used_pct": 82.3}


def test_an_unreadable_counter_is_degraded_while_the_api_is_fine(
    gemini: Rig, app_database: tuple[str, sa.Engine]
):
    url, _ = app_database
    environ = {**gemini.environ, "DATABASE_URL": url}
    quota = {"daily_limit": 1500, "sql": "SELECT calls FROM no_such_table"}

    result = gemini.check(gemini.probe(environ=environ, quota=quota))

    assert result.status is Status.DEGRADED
    assert result.reason == "quota counter unreadable: no such table: no_such_table"
    assert "quota_used_pct" not in result.values


def test_a_counter_whose_url_is_unset_is_degraded_naming_the_variable(gemini: Rig):
    quota = {"daily_limit": 1500, "sql": SQL_COUNT}

    result = gemini.check(quota=quota)

    assert result.status is Status.DEGRADED
    assert result.reason == "quota counter unreadable: DATABASE_URL is not set"


def test_the_quota_is_read_while_the_key_is_rate_limited(
    gemini: Rig, app_redis: tuple[str, redis.Redis], fake_store: StatusStore
):
    url, client = app_redis
    client.set(f"gemini:calls:{today()}", 1000)
    environ = {**gemini.environ, "APP_REDIS_URL": url}
    gemini.imitation.mode = Mode.RATE_LIMITED

    result = gemini.check(
        gemini.probe(environ=environ, store=fake_store, quota=redis_quota())
    )

    assert result.status is Status.DEGRADED
    assert result.reason is not None
    assert result.reason.startswith("rate limited (HTTP 429, RESOURCE_EXHAUSTED)")
    assert result.reason.endswith("; daily quota 100% used (above 80%)")
    assert result.values == {"quota_used_pct": 100.0}


def test_a_down_api_stays_down_with_its_quota(
    gemini: Rig, app_redis: tuple[str, redis.Redis]
):
    url, client = app_redis
    client.set(f"gemini:calls:{today()}", 900)
    environ = {**gemini.environ, "APP_REDIS_URL": url}
    gemini.imitation.mode = Mode.SERVER_ERROR

    result = gemini.check(gemini.probe(environ=environ, quota=redis_quota()))

    assert result.status is Status.DOWN
    assert result.reason == "HTTP 503, UNAVAILABLE"
    assert result.values == {"quota_used_pct": 90.0}


def test_an_answer_without_the_model_list_is_a_partial_answer(gemini: Rig):
    def no_models(request: RecordedRequest) -> Reply:
        return gemini.imitation.reply_json(200, {"nextPageToken": ""})

    gemini.imitation.healthy = no_models  # type: ignore[method-assign]

    result = gemini.check()

    assert result.status is Status.DEGRADED
    assert result.reason == "answer lacks the model list"
    assert result.latency_ms is not None


@pytest.mark.parametrize("counter", ["lots", "12 calls", "nan", "inf"])
def test_a_counter_that_is_not_a_number_is_degraded_without_a_quota(
    gemini: Rig, app_redis: tuple[str, redis.Redis], counter: str
):
    url, client = app_redis
    client.set(f"gemini:calls:{today()}", counter)
    environ = {**gemini.environ, "APP_REDIS_URL": url}

    result = gemini.check(gemini.probe(environ=environ, quota=redis_quota()))

    assert result.status is Status.DEGRADED
    assert result.reason == "quota counter unreadable: the counter is not a number"
    assert "quota_used_pct" not in result.values


def test_a_suspended_key_is_rejected(gemini: Rig):
    def denied(request: RecordedRequest) -> Reply:
        error = {
            "code": 403,
            "message": "Consumer suspended",
            "status": "PERMISSION_DENIED",
        }
        return gemini.imitation.reply_json(403, {"error": error})

    gemini.imitation.healthy = denied  # type: ignore[method-assign]

    result = gemini.check()

    assert result.status is Status.DOWN
    assert result.reason == "credential rejected (HTTP 403, PERMISSION_DENIED)"


@pytest.mark.parametrize(
    ("quota", "problem"),
    [
        ({"daily_limit": 10}, "give either redis_key or sql"),
        (
            {
                "daily_limit": 10,
                "sql": SQL_COUNT,
                "redis_key": "k",
                "redis_url_env": "U",
            },
            "give either redis_key or sql",
        ),
        ({"daily_limit": 10, "redis_key": "k"}, "redis_url_env is required"),
        ({"daily_limit": 0, "sql": SQL_COUNT}, "greater than 0"),
    ],
)
def test_a_counter_must_be_configured_completely(
    gemini: Rig, quota: dict[str, Any], problem: str
):
    with pytest.raises(ConfigError) as raised:
        gemini.service(quota=quota)

    assert "services.vendorUnderTest.quota" in str(raised.value)
    assert problem in str(raised.value)
