"""`gemini`: the Generative Language API's model list, and the app's own quota counter.

Calls `GET {base_url}/{api_version}/models` (default
`https://generativelanguage.googleapis.com/v1beta/models`) with the key in the
`x-goog-api-key` header; the `?key=` form would put it into URLs and logs. Listing
models generates nothing and uses no generation quota. At the default interval
(300 s) that is 288 calls a day.

No Gemini API tells how much quota a key has used, so `quota_used_pct` comes from
a counter the host app keeps, if one is configured (`[services.<name>.quota]`): a
Redis key, or a SQL query returning one number, set against a daily limit. Both
may name today's UTC date (`{date}` in the key, `:day` in the query), the usual
way to keep a counter per day; a missing key counts as zero. Without a counter
the value is not measured ("N/A"); a counter that cannot be read is `degraded`.
"""

from __future__ import annotations

import math
from typing import Any

import redis
import sqlalchemy as sa
from pydantic import Field, model_validator

from collector.http import Answer
from collector.probes.base import Deadline, MissingSetting
from collector.probes.database import describe_error
from collector.probes.vendor import (
    RateLimited,
    Reading,
    Refused,
    VendorOptions,
    VendorProbe,
    describe,
    error_object,
    parse_duration,
    retry_after,
    safe_code,
    usage_problem,
    worsened,
)
from shared.config import Strict
from shared.model import ProbeResult, utcnow

REJECTED_REASONS = frozenset({"API_KEY_INVALID", "API_KEY_EXPIRED"})

# The share of the probe's timeout the usage counter may take; the API call gets
# the rest.
COUNTER_SHARE = 0.3

RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"


class QuotaCounter(Strict):
    """Where the host app counts its Gemini calls of the day."""

    daily_limit: int = Field(gt=0, description="calls allowed a day")
    redis_url_env: str | None = Field(
        None, description="variable with the URL of the Redis holding the counter"
    )
    redis_key: str | None = Field(None, description="may hold {date}: YYYY-MM-DD, UTC")
    sql_url_env: str = Field(
        "DATABASE_URL", description="variable with the database URL"
    )
    sql: str | None = Field(
        None, description="a query returning one number; may use :day (UTC date)"
    )
    threshold_pct: float = Field(
        80, gt=0, le=100, description="quota used above this is degraded"
    )

    @model_validator(mode="after")
    def _one_source(self) -> QuotaCounter:
        if (self.redis_key is None) == (self.sql is None):
            raise ValueError("give either redis_key or sql")
        if self.redis_key is not None and self.redis_url_env is None:
            raise ValueError("redis_url_env is required with redis_key")
        return self


class GeminiOptions(VendorOptions):
    api_key_env: str = Field("GEMINI_API_KEY", description="variable holding the key")
    base_url: str = "https://generativelanguage.googleapis.com"
    api_version: str = "v1beta"
    quota: QuotaCounter | None = Field(
        None, description="the host app's usage counter; without it quota is N/A"
    )


class QuotaUnreadable(Exception):
    """The configured counter could not be read."""


class GeminiProbe(VendorProbe):
    kind = "gemini"
    Options = GeminiOptions

    def check(self, deadline: Deadline) -> ProbeResult:
        quota: QuotaCounter | None = self.options.quota
        if quota is None:
            return super().check(deadline)

        # Read first, within its own share of the budget, so that the API call gets
        # what is left and both together never outlive the probe's timeout. Read
        # whatever the API says next: a rate-limited key is when the quota matters.
        try:
            share = 100.0 * self.quota_used(quota) / quota.daily_limit
        except QuotaUnreadable as error:
            unreadable = f"quota counter unreadable: {error}"
            return worsened(super().check(deadline), unreadable)

        result = super().check(deadline)
        problem = usage_problem(share, quota.threshold_pct, "daily quota")
        return worsened(result, problem, quota_used_pct=round(share, 1))

    def measure(self, key: str | None, deadline: Deadline) -> Reading:
        url = f"{self.base_url()}/{self.options.api_version}/models"
        answer = self.request(
            "GET", url, deadline, headers={"x-goog-api-key": key or ""}
        )
        document = self.read_json(answer)

        reading = Reading(answer.latency_ms)
        models = document.get("models") if isinstance(document, dict) else None
        if not isinstance(models, list):
            reading.problems.append("answer lacks the model list")
        return reading

    def quota_used(self, quota: QuotaCounter) -> float:
        day = utcnow().date().isoformat()
        try:
            if quota.redis_key is not None:
                return self.count_in_redis(quota, day)
            return self.count_in_sql(quota, day)
        except MissingSetting as missing:
            raise QuotaUnreadable(str(missing)) from None

    def counter_timeout(self) -> float:
        return self.service.timeout * COUNTER_SHARE

    def count_in_redis(self, quota: QuotaCounter, day: str) -> float:
        assert quota.redis_url_env is not None and quota.redis_key is not None
        client = self.context.redis_client(quota.redis_url_env, self.counter_timeout())
        try:
            value = client.get(quota.redis_key.replace("{date}", day))
        except redis.exceptions.RedisError as error:
            raise QuotaUnreadable(type(error).__name__) from None
        return number(0 if value is None else value)

    def count_in_sql(self, quota: QuotaCounter, day: str) -> float:
        assert quota.sql is not None
        engine = self.context.engine(quota.sql_url_env, self.counter_timeout())
        try:
            with engine.connect() as connection:
                value = connection.execute(sa.text(quota.sql), {"day": day}).scalar()
        except sa.exc.SQLAlchemyError as error:
            raise QuotaUnreadable(describe_error(error)) from None
        return number(0 if value is None else value)

    def classify(self, answer: Answer) -> None:
        error = error_object(answer)
        detail = describe(answer.status, self.error_code(answer))
        if answer.status == 429 or error.get("status") == "RESOURCE_EXHAUSTED":
            wait = retry_delay(error)
            if wait is None:
                wait = retry_after(answer.headers)
            raise RateLimited(f"rate limited ({detail})", wait, answer.latency_ms)
        if error_reasons(error) & REJECTED_REASONS:
            raise Refused(f"credential rejected ({detail})", answer.latency_ms)
        super().classify(answer)

    def error_code(self, answer: Answer) -> str | None:
        error = error_object(answer)
        codes = [safe_code(error.get("status")), *map(safe_code, error_reasons(error))]
        return " ".join(code for code in codes if code) or None


def error_reasons(error: dict[str, Any]) -> set[str]:
    """The `reason` of each google.rpc.ErrorInfo detail (API_KEY_INVALID, ...)."""
    return {
        detail["reason"]
        for detail in details_of(error, ERROR_INFO)
        if isinstance(detail.get("reason"), str)
    }


def retry_delay(error: dict[str, Any]) -> float | None:
    """Seconds from the google.rpc.RetryInfo detail (`"retryDelay": "47s"`)."""
    for detail in details_of(error, RETRY_INFO):
        seconds = parse_duration(detail.get("retryDelay"))
        if seconds is not None:
            return seconds
    return None


def details_of(error: dict[str, Any], type_url: str) -> list[dict[str, Any]]:
    details = error.get("details")
    if not isinstance(details, list):
        return []
    return [
        detail
        for detail in details
        if isinstance(detail, dict) and detail.get("@type") == type_url
    ]


def number(value: Any) -> float:
    """The counter's value; `nan` and `inf` parse as floats but count nothing."""
    try:
        counted = float(value)
    except (TypeError, ValueError):
        counted = math.nan
    if not math.isfinite(counted):
        raise QuotaUnreadable("the counter is not a number")
    return counted
