"""What the vendor probes share: the key in a header, one retry, back-off, the rules.

A vendor probe makes the cheapest authenticated read its API offers and turns the
answer into a status by the same rules for every vendor (docs/probes.md has them
as one table):

- credential variable unset: `unknown` (the runner, from `MissingSetting`);
- credential rejected: `down`, "credential rejected" (never the key);
- 5xx, timeout, refused connection, bad TLS, an answer that cannot be read: `down`;
- rate limited, slow, a partial answer, usage above its threshold: `degraded`.

Transport failures and 5xx are retried once within the probe's budget, so one
lost packet does not turn the widget red. A rate limit is obeyed: the probe stops
calling until the time the vendor advertised, or else for a wait that doubles
from the service's interval up to an hour, and reads `degraded` meanwhile. That
"not before" is kept in Redis, so a restarted collector obeys it too, and in
memory, so an unreachable Redis never makes the probe spend the app's quota.
"""

from __future__ import annotations

import abc
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

import redis
from pydantic import Field, field_validator
from requests.structures import CaseInsensitiveDict

from collector.http import Answer, BadAnswer, TransportError, fetch, new_session
from collector.probes.base import (
    Deadline,
    MissingSetting,
    Probe,
    ProbeContext,
    http_url,
    slow,
    unconfigured,
)
from shared.config import ServiceConfig, Strict
from shared.model import ProbeResult, Status, to_iso, utcnow
from shared.redact import scrub
from shared.store import StatusStore

log = logging.getLogger(__name__)

# The first try gets this share of the budget, so a hung call leaves time to retry.
FIRST_TRY_SHARE = 0.6

# Less time than this left is not worth a retry: it could only time out.
MIN_RETRY_SECONDS = 0.1

# Doubling waits stop growing here: an hour without a check is long enough.
MAX_EXPONENTIAL_WAIT = 3600.0

# A vendor's advertised wait is obeyed, but a garbled one must not mute a probe
# for weeks.
MAX_ADVERTISED_WAIT = 86400.0

# A hold ending this close to a scheduled check counts as over: the collector's
# ticks land a few milliseconds after the instant they aim at, and skipping a
# whole interval for those milliseconds would double every wait.
HOLD_SLACK = timedelta(seconds=1)

# Vendor error codes are quoted in reasons only when they look like codes.
ERROR_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,48}$")

DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


class VendorOptions(Strict):
    """The options every vendor probe has; each vendor adds its own and defaults."""

    api_key_env: str = Field(description="variable holding the credential")
    base_url: str = Field(description="the API's root, without a trailing /")
    base_url_env: str | None = Field(
        None, description="variable holding the base URL; wins over base_url"
    )
    degraded_ms: int = Field(1500, gt=0, description="slower than this is degraded")
    verify_tls: bool = True

    @field_validator("base_url")
    @classmethod
    def _http_base(cls, url: str) -> str:
        return api_root(url)


class VendorError(Exception):
    """An answer, or its absence, that ends a check before anything was measured."""

    def __init__(self, reason: str, latency_ms: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.latency_ms = latency_ms


class Refused(VendorError):
    """The vendor rejected the credential."""


class Broken(VendorError):
    """No usable answer: 5xx, transport failure, a body that cannot be read."""

    def __init__(
        self, reason: str, latency_ms: int | None = None, status: int | None = None
    ):
        super().__init__(reason, latency_ms)
        self.status = status  # the HTTP status, when there was an answer


class RateLimited(VendorError):
    """The vendor asked us to stop calling, maybe saying for how many seconds."""

    def __init__(
        self, reason: str, wait: float | None = None, latency_ms: int | None = None
    ):
        super().__init__(reason, latency_ms)
        self.wait = wait


@dataclass
class Reading:
    """What one successful check measured, and what it found wrong (degraded)."""

    latency_ms: int
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


class BackOff:
    """When a vendor may be called again: kept in Redis and in memory.

    Redis lets a restarted collector obey a limit the previous one was told about;
    memory keeps the probe quiet while Redis is unreachable (or absent in tests).
    """

    def __init__(self, service: str, store: StatusStore | None, first_wait: float):
        self.service = service
        self.store = store
        self.first_wait = first_wait
        self.streak = 0
        self._held: tuple[datetime, str] | None = None

    def current(self, now: datetime) -> tuple[datetime, str] | None:
        """The latest hold still running at `now` (until, reason), or None."""
        holds = [self._held, self._stored()]
        running = [hold for hold in holds if hold and hold[0] - now > HOLD_SLACK]
        return max(running, key=lambda hold: hold[0], default=None)

    def start(self, now: datetime, advertised: float | None, reason: str) -> datetime:
        """Hold off until the vendor's time, or for a doubling wait; return until."""
        if advertised is not None and advertised > 0:
            wait = min(advertised, MAX_ADVERTISED_WAIT)
        else:
            wait = min(self.first_wait * 2**self.streak, MAX_EXPONENTIAL_WAIT)
            self.streak += 1
        until = now + timedelta(seconds=wait)
        reason = scrub(reason)

        self._held = (until, reason)
        self._store(until, reason, now)
        log.info(
            "service=%s %s: not calling before %s", self.service, reason, to_iso(until)
        )
        return until

    def clear(self) -> None:
        """Forget the doubling: the vendor answered normally."""
        self.streak = 0
        self._held = None

    def _stored(self) -> tuple[datetime, str] | None:
        if self.store is None:
            return None
        try:
            return self.store.backoff_until(self.service)
        except redis.exceptions.RedisError as error:
            log.debug(
                "service=%s back-off unreadable in redis (%s): using memory",
                self.service,
                type(error).__name__,
            )
            return None

    def _store(self, until: datetime, reason: str, now: datetime) -> None:
        if self.store is None:
            return
        try:
            self.store.back_off(self.service, until, reason, now=now)
        except redis.exceptions.RedisError as error:
            log.warning(
                "service=%s back-off kept in memory only: redis failed (%s)",
                self.service,
                type(error).__name__,
            )


class VendorProbe(Probe):
    """One vendor API: `measure()` makes the calls, this class applies the rules."""

    Options: ClassVar[type[VendorOptions]] = VendorOptions

    def __init__(self, service: ServiceConfig, context: ProbeContext):
        super().__init__(service, context)
        self.session = new_session()
        self.backoff = BackOff(service.name, context.store, service.interval)
        # Replaced in tests to let a back-off pass without waiting for it.
        self.clock: Callable[[], datetime] = utcnow

    @abc.abstractmethod
    def measure(self, key: str | None, deadline: Deadline) -> Reading:
        """Make the vendor's calls; raise a VendorError for what ends the check."""

    def configured_values(self) -> dict[str, Any]:
        """Measurements known from the configuration, shown whatever the outcome."""
        return {}

    def check(self, deadline: Deadline) -> ProbeResult:
        try:
            return self.attempt(deadline)
        except MissingSetting as missing:
            # Caught here, not left to the runner, so the configured names still show.
            return unconfigured(missing, **self.configured_values())

    def attempt(self, deadline: Deadline) -> ProbeResult:
        """Check unless a back-off holds; MissingSetting when a variable is unset."""
        key = self.credential()
        started = self.clock()
        hold = self.backoff.current(started)
        if hold is not None:
            until, reason = hold
            return ProbeResult.degraded(
                holding(reason, until), **self.configured_values()
            )

        try:
            reading = self.measure(key, deadline)
        except RateLimited as limited:
            until = self.backoff.start(started, limited.wait, limited.reason)
            return ProbeResult.degraded(
                holding(limited.reason, until),
                limited.latency_ms,
                **self.configured_values(),
            )
        except VendorError as error:
            return ProbeResult.down(
                error.reason, error.latency_ms, **self.configured_values()
            )

        self.backoff.clear()
        return self.judge(reading)

    def judge(self, reading: Reading) -> ProbeResult:
        """Operational, or degraded by what the reading found and by its latency."""
        problems = list(reading.problems)
        if reading.latency_ms > self.options.degraded_ms:
            problems.append(slow(reading.latency_ms, self.options.degraded_ms))
        values = {**self.configured_values(), **reading.values}

        if problems:
            return ProbeResult.degraded(
                "; ".join(problems), reading.latency_ms, **values
            )
        return ProbeResult.operational(reading.latency_ms, **values)

    def credential(self) -> str | None:
        return self.context.secret(self.options.api_key_env)

    def base_url(self) -> str:
        """The configured root, or the one in `base_url_env` (not a secret)."""
        variable = self.options.base_url_env
        if variable is None:
            return self.options.base_url
        value = self.context.environ.get(variable) or None
        if value is None:
            raise MissingSetting(variable)
        try:
            return api_root(value)
        except ValueError:
            raise Broken(f"{variable} is not an http(s) URL") from None

    def request(
        self,
        method: str,
        url: str,
        deadline: Deadline,
        *,
        headers: dict[str, str],
        json_body: Any = None,
    ) -> Answer:
        """Call once, again after a transport failure or 5xx; raise unless 2xx."""
        answer = self._attempt(method, url, deadline, headers, json_body, retry=True)
        if answer is None:
            answer = self._attempt(
                method, url, deadline, headers, json_body, retry=False
            )
        assert answer is not None
        self.classify(answer)
        return answer

    def _attempt(
        self,
        method: str,
        url: str,
        deadline: Deadline,
        headers: dict[str, str],
        json_body: Any,
        *,
        retry: bool,
    ) -> Answer | None:
        """One try; None when it failed in a way worth the retry that is left."""
        budget = deadline.remaining()
        can_retry = retry and budget * (1 - FIRST_TRY_SHARE) >= MIN_RETRY_SECONDS
        try:
            answer = fetch(
                self.session,
                method,
                url,
                timeout=budget * FIRST_TRY_SHARE if can_retry else budget,
                headers=headers,
                json_body=json_body,
                verify=self.options.verify_tls,
            )
        except TransportError as error:
            if can_retry:
                self._retrying(str(error))
                return None
            raise Broken(f"{error}{'' if retry else ' (tried twice)'}") from None

        if can_retry and self.transient(answer):
            self._retrying(f"HTTP {answer.status}")
            return None
        return answer

    def _retrying(self, why: str) -> None:
        log.debug("service=%s retrying once: %s", self.service.name, why)

    def transient(self, answer: Answer) -> bool:
        """Whether an answer is worth one more try: the vendor's own failure."""
        return answer.status >= 500

    def classify(self, answer: Answer) -> None:
        """Raise for an answer that is not a success; vendors refine by their codes."""
        if 200 <= answer.status < 300:
            return
        detail = describe(answer.status, self.error_code(answer))
        latency = answer.latency_ms
        if answer.status == 429:
            raise RateLimited(
                f"rate limited ({detail})", retry_after(answer.headers), latency
            )
        if answer.status in (401, 403):
            raise Refused(f"credential rejected ({detail})", latency)
        raise Broken(detail, latency, answer.status)

    def error_code(self, answer: Answer) -> str | None:
        """The vendor's error code in an error answer, quoted in the reason."""
        return None

    def read_json(self, answer: Answer) -> Any:
        try:
            return answer.json()
        except BadAnswer as error:
            raise Broken(str(error), answer.latency_ms) from None

    def close(self) -> None:
        self.session.close()


def api_root(url: str) -> str:
    """An API's root: an http(s) URL without a trailing /; ValueError otherwise."""
    return http_url(url).rstrip("/")


def holding(reason: str, until: datetime) -> str:
    return f"{reason}; not calling before {to_iso(until)}"


def describe(status: int, code: str | None) -> str:
    return f"HTTP {status}, {code}" if code else f"HTTP {status}"


def safe_code(value: Any) -> str | None:
    """A vendor's error code if it looks like one; free text is never quoted."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and ERROR_CODE.fullmatch(value):
        return value
    return None


def error_object(answer: Answer) -> dict[str, Any]:
    """The `error` object of a JSON error answer, or an empty one."""
    try:
        document = answer.json()
    except BadAnswer:
        return {}
    error = document.get("error") if isinstance(document, dict) else None
    return error if isinstance(error, dict) else {}


def retry_after(headers: CaseInsensitiveDict[str]) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date), or None."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - utcnow()).total_seconds())


def parse_duration(text: Any) -> float | None:
    """Seconds in `47s`, `0.5s`, `2m59.56s`, `1h2m`, `500ms`; None if not one."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    parts = DURATION_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        return None
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(number) * scale[unit] for number, unit in parts)


def usage_problem(used_pct: float, threshold_pct: float, what: str) -> str | None:
    """The degraded finding for usage above its threshold, or None."""
    if used_pct > threshold_pct:
        return f"{what} {used_pct:.0f}% used (above {threshold_pct:g}%)"
    return None


def worsened(result: ProbeResult, problem: str | None, **values: Any) -> ProbeResult:
    """Add `values` to a result; one more finding makes it at least degraded."""
    merged = {**result.values, **values}
    if problem is None or result.status in (Status.DOWN, Status.UNKNOWN):
        return replace(result, values=merged)
    reason = f"{result.reason}; {problem}" if result.reason else problem
    return replace(result, status=Status.DEGRADED, reason=reason, values=merged)
