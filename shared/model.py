"""The status model: what a probe measured about one service, and how it is stored.

A `ProbeResult` is written to Redis as JSON by the collector and read back by the
API. Its JSON form is documented in the README ("Redis keys") and is a stable
interface: ops read it with `redis-cli`, so fields are only ever added.

Measured values are stored raw (instants as ISO 8601 UTC, counts as integers,
shares as percentages); the API formats them for the widget at request time,
because "2m ago" must be true when the answer is sent, not when the probe ran.
"""

from __future__ import annotations

import enum
import json
import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any


class Status(enum.StrEnum):
    OPERATIONAL = "operational"
    DEGRADED = "degraded"
    DOWN = "down"
    # Ours, not the widget's: not measured recently (never checked, checked too
    # long ago, or not configured). A status is never guessed.
    UNKNOWN = "unknown"


# How bad each status is, so a probe can combine several findings into the worst.
SEVERITY = {
    Status.OPERATIONAL: 0,
    Status.UNKNOWN: 1,
    Status.DEGRADED: 2,
    Status.DOWN: 3,
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_iso(instant: datetime | None) -> str | None:
    """Format an instant as ISO 8601 UTC with its offset; naive means UTC."""
    if instant is None:
        return None
    return _in_utc(instant).isoformat(timespec="seconds")


def from_iso(text: str | None) -> datetime | None:
    """Read an ISO 8601 instant into UTC; raise ValueError when it is not one."""
    if text is None or text == "":
        return None
    if not isinstance(text, str):
        raise ValueError(f"not an ISO 8601 instant: {type(text).__name__}")
    return _in_utc(datetime.fromisoformat(text))


def _in_utc(instant: datetime) -> datetime:
    """The instant in UTC; naive means UTC. ValueError when UTC cannot hold it."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    try:
        return instant.astimezone(UTC)
    except OverflowError:
        # Year 1 at +14:00 is still year 0 in UTC: Python has no such date.
        raise ValueError(f"instant out of range in UTC: {instant!r}") from None


@dataclass(frozen=True)
class ProbeResult:
    """One probe's verdict on one service.

    `values` holds measurements under the names listed in `shared.fields`
    (`active_hooks`, `next_run_at`, ...). A name that is present with `None`
    means "measured: there is none" (no event yet, no job scheduled); a name
    that is absent means "not measured".
    """

    status: Status
    reason: str | None = None
    latency_ms: int | None = None
    values: dict[str, Any] = field(default_factory=dict)
    checked_at: datetime | None = None

    @classmethod
    def operational(cls, latency_ms: int | None = None, **values: Any) -> ProbeResult:
        return cls(Status.OPERATIONAL, None, latency_ms, values)

    @classmethod
    def degraded(
        cls, reason: str, latency_ms: int | None = None, **values: Any
    ) -> ProbeResult:
        return cls(Status.DEGRADED, reason, latency_ms, values)

    @classmethod
    def down(
        cls, reason: str, latency_ms: int | None = None, **values: Any
    ) -> ProbeResult:
        return cls(Status.DOWN, reason, latency_ms, values)

    @classmethod
    def unknown(cls, reason: str, **values: Any) -> ProbeResult:
        return cls(Status.UNKNOWN, reason, None, values)

    def stamped(self, checked_at: datetime) -> ProbeResult:
        return replace(self, checked_at=checked_at)


@dataclass(frozen=True)
class StoredResult:
    """A result as it lives in Redis: the probe's verdict plus bookkeeping."""

    service: str
    kind: str
    result: ProbeResult
    # When the service entered its current status; survives collector restarts.
    since: datetime | None = None

    def to_json(self) -> str:
        result = self.result
        document = {
            "service": self.service,
            "kind": self.kind,
            "status": result.status.value,
            "reason": result.reason,
            "latency_ms": result.latency_ms,
            "checked_at": to_iso(result.checked_at),
            "since": to_iso(self.since),
            "values": result.values,
        }
        # NaN would be written as `NaN`, which is not JSON: from_json refuses it, and
        # so would every other reader. Not a number is nothing measured.
        return json.dumps(_finite_only(document), separators=(",", ":"), default=str)

    @classmethod
    def from_json(cls, text: str | bytes) -> StoredResult:
        """Parse a stored result; raise ValueError when it is not one."""
        try:
            document = json.loads(
                text, parse_constant=_not_a_number, parse_float=_finite
            )
            return cls(
                service=_text(document["service"], "service"),
                kind=_text(document.get("kind", ""), "kind"),
                result=_result_of(document),
                since=from_iso(document.get("since")),
            )
        except _UNREADABLE as error:
            raise ValueError(f"not a stored probe result: {error}") from error


# What parsing a value statusd never wrote can raise; RecursionError is JSON nested
# thousands deep.
_UNREADABLE = (KeyError, TypeError, AttributeError, ValueError, RecursionError)


def _result_of(document: dict[str, Any]) -> ProbeResult:
    values = document.get("values")
    if values is not None and not isinstance(values, dict):
        # dict() would read ["ab", "cd"] as {"a": "b", "c": "d"}.
        raise ValueError(f"values is not an object: {type(values).__name__}")
    reason = document.get("reason")
    return ProbeResult(
        status=Status(document["status"]),
        reason=None if reason is None else _text(reason, "reason"),
        latency_ms=document.get("latency_ms"),
        values=dict(values or {}),
        checked_at=from_iso(document.get("checked_at")),
    )


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} is not text: {type(value).__name__}")
    return value


def _finite_only(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite_only(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_only(item) for item in value]
    return value


def _not_a_number(constant: str) -> float:
    # json.loads reads NaN and Infinity, which no JSON reader downstream accepts.
    raise ValueError(f"{constant} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is out of the range of a float")
    return number
