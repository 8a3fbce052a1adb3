"""Measurements, the widget's fields, and how a value is shown to the widget.

A probe stores measurements under stable snake_case names (`active_hooks`,
`next_run_at`, ...). The API turns them into the widget's camelCase fields with the
formats the contract prescribes ("142ms", "87%", "12,847", "2m ago", "15m").
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.model import from_iso
from shared.once import warn_once

log = logging.getLogger(__name__)

NOT_MEASURED = "N/A"

# Sentinel for "the probe did not measure this", as opposed to a stored None.
ABSENT: Any = object()


def format_latency(value: Any, now: datetime) -> str:
    if value is ABSENT or value is None:
        return NOT_MEASURED
    return f"{round(_number(value))}ms"


def format_share(value: Any, now: datetime) -> str:
    if value is ABSENT or value is None:
        return NOT_MEASURED
    return f"{round(_number(value))}%"


def format_large_count(value: Any, now: datetime) -> str:
    if value is ABSENT or value is None:
        return NOT_MEASURED
    return f"{int(_number(value)):,}"


def format_small_count(value: Any, now: datetime) -> int | None:
    if value is ABSENT or value is None:
        return None
    return int(_number(value))


def format_name(value: Any, now: datetime) -> str:
    if value is ABSENT or value is None or value == "":
        return NOT_MEASURED
    return str(value)


def format_time_since(value: Any, now: datetime) -> str:
    """ "45s ago" from a stored instant; "Never" when measured and nothing happened."""
    if value is ABSENT:
        return NOT_MEASURED
    if value is None:
        return "Never"
    seconds = max(0, int((now - _instant(value)).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def format_time_until(value: Any, now: datetime) -> str:
    """ "15m" until a stored instant, rounded up so that "0m" means due or overdue."""
    if value is ABSENT:
        return NOT_MEASURED
    if value is None:
        return "None"
    seconds = (_instant(value) - now).total_seconds()
    return f"{max(0, math.ceil(seconds / 60))}m"


def finite_number(value: Any) -> int | float | None:
    """A stored number as it is; None for anything else ("fast", [1], true, NaN)."""
    # JSON's true would pass for 1 (a bool is an int in Python): "1ms", "1%".
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return value if math.isfinite(value) else None
    except OverflowError:
        return None  # an integer of hundreds of digits, beyond any float


def _number(value: Any) -> int | float:
    number = finite_number(value)
    if number is None:
        raise TypeError(f"not a finite number: {type(value).__name__}")
    return number


def _instant(value: Any) -> datetime:
    """A stored instant; ValueError for "", a number or anything else not ISO text."""
    instant = from_iso(value)
    if instant is None:
        raise ValueError("an empty instant")
    return instant


Formatter = Callable[[Any, datetime], Any]


@dataclass(frozen=True)
class Measurement:
    name: str  # as stored in a result's `values`
    field: str  # as the widget reads it
    format: Formatter
    description: str


MEASUREMENTS: dict[str, Measurement] = {
    m.name: m
    for m in (
        Measurement("latency_ms", "latency", format_latency, "round trip, ms"),
        Measurement(
            "rate_limit_remaining_pct",
            "rateLimitRemaining",
            format_share,
            "100 minus the highest usage percentage the vendor reports",
        ),
        Measurement(
            "active_hooks", "activeHooks", format_small_count, "active webhooks"
        ),
        Measurement("last_event_at", "lastEvent", format_time_since, "newest event"),
        Measurement(
            "active_connections",
            "activeConnections",
            format_small_count,
            "client sessions of the database",
        ),
        Measurement("model", "model", format_name, "model in use"),
        Measurement("index", "index", format_name, "vector index name"),
        Measurement("total_vectors", "totalVectors", format_large_count, "vectors"),
        Measurement(
            "jobs_queued", "jobsQueued", format_small_count, "jobs in the store"
        ),
        Measurement("next_run_at", "nextRun", format_time_until, "earliest next run"),
        Measurement(
            "last_triggered_at", "lastTriggered", format_time_since, "newest run"
        ),
        Measurement(
            "success_rate_pct", "successRate", format_share, "successful runs, 24 h"
        ),
        Measurement(
            "quota_used_pct", "quotaUsedToday", format_share, "daily quota used"
        ),
        Measurement("model_version", "modelVersion", format_name, "model version"),
    )
}

# The widget's nine services and the fields each one shows, in the contract's order.
CONTRACT_FIELDS: dict[str, tuple[str, ...]] = {
    "instaGraphApi": ("latency_ms", "rate_limit_remaining_pct"),
    "webhooksConfig": ("active_hooks", "last_event_at"),
    "sqlDatabase": ("active_connections", "latency_ms"),
    "groqCloud": ("model", "latency_ms"),
    "pinecone": ("index", "total_vectors", "latency_ms"),
    "scheduler": ("jobs_queued", "next_run_at"),
    "automation": ("last_triggered_at", "success_rate_pct"),
    "geminiApi": ("latency_ms", "quota_used_pct"),
    "llumaAi": ("latency_ms", "model_version"),
}


def fields_of(service: str, measured: Mapping[str, Any]) -> tuple[str, ...]:
    """Which measurements a service shows: the contract's, else latency and all known."""
    if service in CONTRACT_FIELDS:
        return CONTRACT_FIELDS[service]
    extra = tuple(
        name for name in measured if name in MEASUREMENTS and name != "latency_ms"
    )
    return ("latency_ms", *extra)


def render_fields(
    service: str, measured: Mapping[str, Any] | None, now: datetime
) -> dict[str, Any]:
    """The widget's fields of one service; `measured` None means nothing measured."""
    measured = measured or {}
    rendered: dict[str, Any] = {}
    for name in fields_of(service, measured):
        measurement = MEASUREMENTS[name]
        rendered[measurement.field] = _shown(
            service, measurement, measured.get(name, ABSENT), now
        )
    return rendered


def _shown(service: str, measurement: Measurement, value: Any, now: datetime) -> Any:
    # A value of the wrong shape (an `extract` path that finds text where a count
    # was meant, say) must cost one field, not the whole document of nine services.
    try:
        return measurement.format(value, now)
    except (TypeError, ValueError, ArithmeticError) as error:
        _warn_once(service, measurement, value, error)
        return measurement.format(ABSENT, now)


def _warn_once(
    service: str, measurement: Measurement, value: Any, error: Exception
) -> None:
    problem = (service, measurement.name, f"{type(error).__name__}: {error}")
    warn_once(
        log,
        problem,
        "cannot show measurement service=%s name=%s value=%.80r: %s",
        service,
        measurement.name,
        value,
        error,
    )
