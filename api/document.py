"""Build the widget's document from stored results, at request time.

Times since and until are computed here, against the request's clock, from the
instants the probes stored. A result older than its service's staleness window,
one stamped well after the request's clock, or none at all, reads `unknown`: a
status is never guessed.

The document always holds the contract's nine services, in the contract's order,
whatever the configuration: the widget may rely on every key. A contract service the
configuration leaves out reads `unknown`. Services of our own come after them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from shared.config import Config, ServiceConfig
from shared.fields import CONTRACT_FIELDS, render_fields
from shared.model import Status, StoredResult, to_iso

# Seconds a result may seem to come from the future: the collector's clock and ours
# may differ a little.
FUTURE_TOLERANCE = 60.0

NOT_CONFIGURED = "not in the configuration"


def build_document(
    config: Config, stored: dict[str, StoredResult | None], now: datetime
) -> dict[str, Any]:
    """The timestamp, the contract's services in its order, then the others."""
    configured = {service.name: service for service in config.services}
    document: dict[str, Any] = {"timestamp": to_iso(now)}
    for name in document_order(configured):
        service = configured.get(name)
        if service is None:
            document[name] = not_configured(name, now)
        else:
            document[name] = service_entry(service, stored.get(name), now)
    return document


def document_order(configured: Iterable[str]) -> list[str]:
    """Every contract service in the contract's order, then the others as configured."""
    extra = [name for name in configured if name not in CONTRACT_FIELDS]
    return [*CONTRACT_FIELDS, *extra]


def not_configured(name: str, now: datetime) -> dict[str, Any]:
    """The object of a contract service the configuration leaves out."""
    return _entry(name, Status.UNKNOWN, None, None, NOT_CONFIGURED, now)


def service_entry(
    service: ServiceConfig, stored: StoredResult | None, now: datetime
) -> dict[str, Any]:
    """One service's object: the contract's keys, then our own `checkedAt` and `reason`."""
    name = service.name
    if stored is None:
        return _entry(name, Status.UNKNOWN, None, None, "never checked", now)

    result = stored.result
    doubt = _doubt(service, stored, now)
    if doubt is not None:
        return _entry(name, Status.UNKNOWN, None, result.checked_at, doubt, now)

    measured = {"latency_ms": result.latency_ms, **result.values}
    return _entry(name, result.status, measured, result.checked_at, result.reason, now)


def current_status(
    service: ServiceConfig, stored: StoredResult | None, now: datetime
) -> Status:
    """The status the API shows: the stored one, unless missing, stale or ahead."""
    if stored is None or _doubt(service, stored, now) is not None:
        return Status.UNKNOWN
    return stored.result.status


def _doubt(service: ServiceConfig, stored: StoredResult, now: datetime) -> str | None:
    """Why a stored result cannot stand for the service now; None when it can."""
    age = result_age(stored, now)
    if age is None or age > service.stale_after:
        return f"stale: last checked {_ago(age)} (the collector may be stopped)"
    if age < -FUTURE_TOLERANCE:
        # Otherwise a collector whose clock runs ahead would leave a result that
        # never turns stale, even long after the collector stopped.
        return "checked in the future (clock skew?)"
    return None


def result_age(stored: StoredResult | None, now: datetime) -> float | None:
    """Seconds since the result was measured; None when there is no instant."""
    if stored is None or stored.result.checked_at is None:
        return None
    return (now - stored.result.checked_at).total_seconds()


def _entry(
    name: str,
    status: Status,
    measured: dict[str, Any] | None,
    checked_at: datetime | None,
    reason: str | None,
    now: datetime,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"status": status.value}
    entry.update(render_fields(name, measured, now))
    entry["checkedAt"] = to_iso(checked_at)
    entry["reason"] = reason
    return entry


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "at an unknown time"
    minutes = int(seconds // 60)
    return f"{minutes}m ago" if minutes else f"{int(seconds)}s ago"
