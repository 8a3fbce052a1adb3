"""Run one service's probe under a hard timeout, whatever the probe does.

Each run starts the probe in its own daemon thread and waits at most the service's
timeout (plus a short grace for the probe's own clean-up). A probe that raises
becomes `down`; one that hangs becomes `down` when the timeout passes, and its
thread is left behind: Python cannot kill a thread. While that thread lives no
new probe of the service starts, so a service never has two probes running and
hung threads are bounded by the number of services.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from collector.probes import Deadline, MissingSetting, Probe
from collector.probes.base import SCALAR, unconfigured
from shared.model import ProbeResult, utcnow
from shared.redact import scrub

log = logging.getLogger(__name__)

# Time a probe gets past its timeout to finish on its own, e.g. to close a socket.
GRACE_SECONDS = 0.5

# How often a waiting run looks whether the collector is stopping.
POLL_SECONDS = 0.1

MAX_REASON = 300


class ServiceRunner:
    def __init__(
        self,
        probe: Probe,
        record: Callable[[str, ProbeResult], None],
        stopping: threading.Event,
    ):
        self.probe = probe
        self.service = probe.service
        self.record = record
        self.stopping = stopping
        self._thread: threading.Thread | None = None

    def run_once(self) -> ProbeResult | None:
        """Probe the service once and record the result; None when stopping."""
        if self.stopping.is_set():
            # A run queued just before stop() must not start a probe nobody waits for.
            return None
        result: ProbeResult | None
        if self._thread is not None and self._thread.is_alive():
            result = ProbeResult.down(
                f"probe still hung from an earlier run (timeout {self.service.timeout:g}s)"
            )
        else:
            result = self._run_with_timeout()
            if result is None:
                return None

        result = clean(self.service.name, result).stamped(utcnow())
        self.record(self.service.name, result)
        return result

    def _run_with_timeout(self) -> ProbeResult | None:
        outcome: list[ProbeResult] = []
        done = threading.Event()

        def probe() -> None:
            try:
                outcome.append(self._check())
            finally:
                done.set()

        self._thread = threading.Thread(
            target=probe, name=f"probe-{self.service.name}", daemon=True
        )
        self._thread.start()
        waited = self._wait(done, self.service.timeout + GRACE_SECONDS)
        if not waited:
            return None
        if not outcome:
            return ProbeResult.down(
                f"no answer within {self.service.timeout:g}s (timed out)"
            )
        return outcome[0]

    def _wait(self, done: threading.Event, seconds: float) -> bool:
        """Wait for the probe; False when the collector stops meanwhile."""
        deadline = Deadline(seconds)
        while not done.wait(min(POLL_SECONDS, deadline.remaining())):
            if self.stopping.is_set():
                return False
            if deadline.expired():
                break
        return True

    def _check(self) -> ProbeResult:
        try:
            return self.probe.check(Deadline(self.service.timeout))
        except MissingSetting as missing:
            return unconfigured(missing)
        except Exception as error:  # noqa: BLE001 - a probe's bug must not stop the loop
            log.debug("service=%s probe raised", self.service.name, exc_info=True)
            return ProbeResult.down(f"probe failed: {type(error).__name__}: {error}")


def clean(service: str, result: ProbeResult) -> ProbeResult:
    """Scrub the reason and every text value, drop non-scalar values, shorten the reason.

    All of it is stored, logged and served; a vendor that echoes a key back in an
    error or a field must not get it into any of those.
    """
    return replace(
        result, reason=clean_reason(result.reason), values=clean_values(service, result)
    )


def clean_values(service: str, result: ProbeResult) -> dict[str, Any]:
    values = {}
    for name, value in result.values.items():
        if isinstance(value, SCALAR):
            values[name] = scrub(value) if isinstance(value, str) else value
            continue
        # `scrub` reads text only, so an object or a list would carry a key past it.
        # Probes read single values; one that did not has a bug, and it is dropped.
        log.warning(
            "service=%s measurement=%s dropped: a %s is not a single value",
            service,
            name,
            type(value).__name__,
        )
    return values


def clean_reason(reason: str | None) -> str | None:
    if reason is None:
        return None
    reason = scrub(" ".join(reason.split()))
    if len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - 1] + "…"
    return reason
