"""The status rules every vendor probe follows, driven through each vendor's imitation."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from vendor_kit import Rig, closed_port, fail_once, hang_once

from collector.runner import ServiceRunner
from shared.model import ProbeResult, Status, utcnow
from shared.store import StatusStore
from statusd.imitations import Mode


def run_through_runner(rig: Rig, **options: object) -> ProbeResult:
    """Probe once the way the collector does: hard timeout, scrubbing, MissingSetting."""
    probe = rig.probe(**options)  # type: ignore[arg-type]
    recorded: list[ProbeResult] = []
    runner = ServiceRunner(
        probe, lambda name, result: recorded.append(result), threading.Event()
    )
    runner.run_once()
    probe.close()
    assert len(recorded) == 1
    return recorded[0]


def test_a_healthy_vendor_is_operational_with_its_fields(rig: Rig):
    result = rig.check()

    assert result.status is Status.OPERATIONAL, result.reason
    assert result.reason is None
    assert result.latency_ms is not None
    assert result.values == rig.vendor.healthy_values(rig.imitation)
    assert rig.calls() >= 1


def test_a_rejected_credential_is_down_without_the_key(rig: Rig):
    rig.imitation.mode = Mode.REJECTED

    result = run_through_runner(rig)

    assert result.status is Status.DOWN
    assert result.reason is not None
    assert result.reason.startswith("credential rejected")
    assert rig.vendor.secret not in result.reason
    # A rejection is an answer, not a failure: it is not retried.
    assert rig.calls() == 1


def test_a_wrong_credential_is_rejected_like_a_revoked_one(rig: Rig):
    environ = {rig.vendor.key_env: "SECRET-WRONG-0000000000"}

    result = rig.check(rig.probe(environ=environ))

    assert result.status is Status.DOWN
    assert result.reason is not None
    assert result.reason.startswith("credential rejected")


def test_a_server_error_is_retried_once_then_down(rig: Rig):
    rig.imitation.mode = Mode.SERVER_ERROR

    result = rig.check()

    assert result.status is Status.DOWN
    assert result.reason is not None
    assert result.reason.startswith("HTTP 5")
    assert rig.calls() == 2


def test_one_server_error_followed_by_success_is_operational(rig: Rig):
    fail_once(rig.imitation)

    result = rig.check()

    assert result.status is Status.OPERATIONAL, result.reason
    assert result.values == rig.vendor.healthy_values(rig.imitation)
    assert rig.imitation.requests[0].path == rig.imitation.requests[1].path


def test_one_lost_answer_followed_by_success_is_operational(rig: Rig):
    healer = hang_once(rig.imitation)

    result = rig.check(timeout=0.5)

    healer.join()
    assert result.status is Status.OPERATIONAL, result.reason
    assert rig.imitation.requests[0].path == rig.imitation.requests[1].path


def test_a_hanging_vendor_is_down_within_the_probe_s_budget(rig: Rig):
    rig.imitation.mode = Mode.HANG

    result = run_through_runner(rig, timeout=0.5)

    # The probe's own verdict, not the runner's "no answer within 0.5s (timed
    # out)": the probe gave up, retry included, before its budget ran out.
    assert result.status is Status.DOWN
    assert result.reason is not None
    assert "did not answer" in result.reason
    assert "(tried twice)" in result.reason
    assert rig.calls() == 2


def test_a_refused_connection_is_down_after_a_retry(rig: Rig):
    result = rig.check(base_url=f"http://127.0.0.1:{closed_port()}")

    assert result.status is Status.DOWN
    assert result.reason is not None
    assert "connection refused" in result.reason
    assert "(tried twice)" in result.reason


@pytest.mark.parametrize("style", ["html", "truncated"])
def test_an_answer_that_is_not_json_is_down(rig: Rig, style: str):
    rig.imitation.garbage_style = style
    rig.imitation.mode = Mode.GARBAGE

    result = rig.check()

    assert result.status is Status.DOWN
    assert result.reason is not None
    assert "not JSON" in result.reason


def test_a_slow_vendor_is_degraded_with_its_fields(rig: Rig):
    rig.imitation.latency = 0.25
    rig.imitation.mode = Mode.SLOW

    result = rig.check(degraded_ms=100)

    assert result.status is Status.DEGRADED
    assert result.reason is not None
    assert "slow" in result.reason
    assert "above 100ms" in result.reason
    assert result.latency_ms is not None and result.latency_ms > 100
    assert result.values == rig.vendor.healthy_values(rig.imitation)


def test_an_unset_credential_reads_unknown_with_the_configured_names(rig: Rig):
    result = run_through_runner(rig, environ={})

    assert result.status is Status.UNKNOWN
    assert result.reason == f"not configured: {rig.vendor.key_env} is not set"
    # groq's model and pinecone's index are known without asking the vendor.
    assert result.values == rig.vendor.configured
    assert rig.calls() == 0


def test_configured_names_are_reported_even_when_the_vendor_is_down(rig: Rig):
    rig.imitation.mode = Mode.SERVER_ERROR

    result = rig.check()

    assert result.values == rig.vendor.configured


def test_a_rate_limit_is_obeyed_until_the_advertised_time(
    rig: Rig, fake_store: StatusStore
):
    rig.imitation.mode = Mode.RATE_LIMITED
    probe = rig.probe(store=fake_store, interval=90)
    wait = rig.vendor.advertised_wait(rig.imitation) or 90.0
    before = utcnow()

    first = rig.check(probe)

    assert first.status is Status.DEGRADED
    assert first.reason is not None and first.reason.startswith("rate limited")
    hold = fake_store.backoff_until(probe.service.name)
    assert hold is not None
    until, reason = hold
    assert reason.startswith("rate limited")
    assert before + timedelta(seconds=wait - 1) <= until
    assert until <= utcnow() + timedelta(seconds=wait + 1)
    calls = rig.calls()

    second = rig.check(probe)

    assert second.status is Status.DEGRADED
    assert second.reason is not None and "not calling before" in second.reason
    assert second.values == rig.vendor.configured
    assert rig.calls() == calls

    rig.imitation.mode = Mode.HEALTHY
    probe.clock = lambda: until + timedelta(seconds=1)

    third = rig.check(probe)

    assert third.status is Status.OPERATIONAL, third.reason
    assert rig.calls() > calls
