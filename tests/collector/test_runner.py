"""The service runner: a hard timeout around every probe, and clean results."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from collector.probes import Deadline, MissingSetting, Probe, ProbeContext
from collector.runner import GRACE_SECONDS, MAX_REASON, ServiceRunner
from shared.config import ServiceConfig
from shared.model import ProbeResult, Status
from shared.redact import MASK, remember

Check = Callable[[Deadline], ProbeResult]


class FakeProbe(Probe):
    kind = "fake"

    def __init__(self, service: ServiceConfig, check: Check):
        super().__init__(service, ProbeContext(environ={}))
        self._check = check
        self.calls = 0
        self._lock = threading.Lock()

    def check(self, deadline: Deadline) -> ProbeResult:
        with self._lock:
            self.calls += 1
        return self._check(deadline)


class Recorded:
    """Stands in for the recorder: keeps what the runner recorded."""

    def __init__(self) -> None:
        self.results: list[tuple[str, ProbeResult]] = []

    def __call__(self, service: str, result: ProbeResult) -> None:
        self.results.append((service, result))


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set after the test, so hung fake probes end instead of lingering."""
    event = threading.Event()
    yield event
    event.set()


def make_runner(
    check: Check, timeout: float = 0.3, stopping: threading.Event | None = None
) -> tuple[ServiceRunner, FakeProbe, Recorded]:
    service = ServiceConfig("fakeService", "fake", 60.0, timeout, 180.0, {})
    probe = FakeProbe(service, check)
    recorded = Recorded()
    runner = ServiceRunner(probe, recorded, stopping or threading.Event())
    return runner, probe, recorded


def hang_until(event: threading.Event) -> Check:
    def check(deadline: Deadline) -> ProbeResult:
        event.wait(60)
        return ProbeResult.operational(1)

    return check


def returning(result: ProbeResult) -> Check:
    return lambda deadline: result


def raising(error: Exception) -> Check:
    def check(deadline: Deadline) -> ProbeResult:
        raise error

    return check


def test_it_records_a_probe_result_stamped_with_its_time():
    runner, _, recorded = make_runner(returning(ProbeResult.operational(12)))

    result = runner.run_once()

    assert result is not None
    assert result.status is Status.OPERATIONAL
    assert result.checked_at is not None
    assert recorded.results == [("fakeService", result)]


def test_it_marks_a_probe_that_raises_down_naming_the_error():
    runner, _, recorded = make_runner(raising(RuntimeError("socket closed")))

    result = runner.run_once()

    assert result is not None
    assert result.status is Status.DOWN
    assert result.reason == "probe failed: RuntimeError: socket closed"
    assert recorded.results == [("fakeService", result)]


def test_it_marks_a_hung_probe_down_after_its_timeout(release: threading.Event):
    runner, probe, recorded = make_runner(hang_until(release), timeout=0.3)

    started = time.monotonic()
    result = runner.run_once()
    took = time.monotonic() - started

    assert result is not None
    assert result.status is Status.DOWN
    assert "timed out" in (result.reason or "")
    assert took >= 0.3
    assert took < 0.3 + GRACE_SECONDS + 1.0
    assert len(recorded.results) == 1


def test_it_starts_no_second_probe_while_the_first_is_still_hung(
    release: threading.Event,
):
    runner, probe, recorded = make_runner(hang_until(release), timeout=0.2)
    runner.run_once()

    again = runner.run_once()

    assert again is not None
    assert again.status is Status.DOWN
    assert "still hung" in (again.reason or "")
    assert probe.calls == 1
    assert [result.status for _, result in recorded.results] == [Status.DOWN] * 2


def test_it_probes_again_once_the_hung_probe_has_ended(release: threading.Event):
    runner, probe, _ = make_runner(hang_until(release), timeout=0.2)
    runner.run_once()
    release.set()
    hung_thread = runner._thread
    assert hung_thread is not None
    hung_thread.join(5)

    result = runner.run_once()

    assert probe.calls == 2
    assert result is not None
    assert result.status is Status.OPERATIONAL


def test_it_reads_unknown_when_a_setting_is_missing():
    runner, _, _ = make_runner(raising(MissingSetting("VENDOR_API_KEY")))

    result = runner.run_once()

    assert result is not None
    assert result.status is Status.UNKNOWN
    assert result.reason == "not configured: VENDOR_API_KEY is not set"


def test_it_scrubs_remembered_secrets_from_the_reason():
    secret = f"sk-{uuid.uuid4().hex}"
    remember(secret)
    runner, _, _ = make_runner(
        returning(ProbeResult.down(f"vendor said: bad key {secret}"))
    )

    result = runner.run_once()

    assert result is not None
    assert secret not in (result.reason or "")
    assert MASK in (result.reason or "")


def test_it_scrubs_a_secret_from_the_message_of_a_raised_error():
    secret = f"sk-{uuid.uuid4().hex}"
    remember(secret)
    runner, _, _ = make_runner(raising(ValueError(f"cannot use {secret}")))

    result = runner.run_once()

    assert result is not None
    assert result.reason == f"probe failed: ValueError: cannot use {MASK}"


def test_it_scrubs_query_strings_from_the_reason():
    reason = "GET https://api.vendor.test/v1/models?key=abc123&alt=json failed"
    runner, _, _ = make_runner(returning(ProbeResult.down(reason)))

    result = runner.run_once()

    assert result is not None
    assert result.reason is not None
    assert "abc123" not in result.reason
    assert "https://api.vendor.test/v1/models" in result.reason


def test_it_shortens_a_long_reason_and_folds_its_whitespace():
    reason = "first line\n\n   second line " + "x" * 2000
    runner, _, _ = make_runner(returning(ProbeResult.degraded(reason)))

    result = runner.run_once()

    assert result is not None
    assert result.reason is not None
    assert len(result.reason) == MAX_REASON
    assert result.reason.startswith("first line second line x")
    assert result.reason.endswith("…")


def test_it_scrubs_text_values_and_keeps_other_values():
    secret = f"sk-{uuid.uuid4().hex}"
    remember(secret)
    probe_result = ProbeResult.operational(
        5, model=f"model for {secret}", total_vectors=12847, next_run_at=None
    )
    runner, _, _ = make_runner(returning(probe_result))

    result = runner.run_once()

    assert result is not None
    assert result.values == {
        "model": f"model for {MASK}",
        "total_vectors": 12847,
        "next_run_at": None,
    }


def test_it_drops_a_value_that_is_not_a_single_value_with_a_warning(
    caplog: pytest.LogCaptureFixture,
):
    secret = f"sk-{uuid.uuid4().hex}"
    remember(secret)
    probe_result = ProbeResult.operational(
        5, model={"key": secret}, index=[secret], total_vectors=3, ready=True
    )
    runner, _, recorded = make_runner(returning(probe_result))

    result = runner.run_once()

    assert result is not None
    assert result.values == {"total_vectors": 3, "ready": True}
    assert secret not in repr(recorded.results)
    warnings = [
        line.getMessage() for line in caplog.records if line.levelno == logging.WARNING
    ]
    assert any("service=fakeService measurement=model" in line for line in warnings), (
        warnings
    )
    assert any("service=fakeService measurement=index" in line for line in warnings), (
        warnings
    )
    assert not any(secret in line for line in warnings)


def test_it_returns_none_promptly_when_stopping_while_waiting(
    release: threading.Event,
):
    stopping = threading.Event()
    runner, _, recorded = make_runner(
        hang_until(release), timeout=30.0, stopping=stopping
    )
    threading.Timer(0.2, stopping.set).start()

    started = time.monotonic()
    result = runner.run_once()
    took = time.monotonic() - started

    assert result is None
    assert recorded.results == []
    # Far below the probe's 30 s timeout: the run looks at `stopping` as it waits.
    assert took < 2.0


def test_it_starts_no_probe_once_the_collector_is_stopping():
    stopping = threading.Event()
    stopping.set()
    runner, probe, recorded = make_runner(
        returning(ProbeResult.operational()), stopping=stopping
    )

    assert runner.run_once() is None
    assert probe.calls == 0
    assert recorded.results == []
