"""What every vendor probe shares: back-off, retry budget, and reading vendors' times."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from requests.structures import CaseInsensitiveDict
from vendor_kit import Rig, closed_port

from collector.probes.vendor import (
    BackOff,
    parse_duration,
    retry_after,
    usage_problem,
    worsened,
)
from shared import keys
from shared.model import ProbeResult, Status, utcnow
from shared.redact import MASK, remember
from shared.store import StatusStore, connect
from statusd.imitations import Mode

RigOf = Callable[[str], Rig]

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def rate_limited_pinecone(rig_of: RigOf) -> Rig:
    """Pinecone: its 429 says nothing about when to come back."""
    rig = rig_of("pinecone")
    rig.imitation.mode = Mode.RATE_LIMITED
    return rig


def waits_of(rig: Rig, store: StatusStore, interval: float, rounds: int) -> list[float]:
    """Seconds of each back-off the probe takes while the vendor stays limited."""
    probe = rig.probe(store=store, interval=interval)
    now, waits = T0, []
    for _ in range(rounds):
        probe.clock = lambda now=now: now
        result = rig.check(probe)
        assert result.status is Status.DEGRADED
        hold = store.backoff_until(probe.service.name)
        assert hold is not None
        waits.append((hold[0] - now).total_seconds())
        now = hold[0] + timedelta(seconds=1)
    return waits


def test_without_an_advertised_time_the_wait_doubles_from_the_interval(
    rig_of: RigOf, fake_store: StatusStore
):
    rig = rate_limited_pinecone(rig_of)

    assert waits_of(rig, fake_store, 300, 4) == [300, 600, 1200, 2400]


def test_a_back_off_kept_in_redis_lasts_its_wait_on_the_probes_own_clock(
    rig_of: RigOf, fake_store: StatusStore
):
    rig = rate_limited_pinecone(rig_of)
    probe = rig.probe(store=fake_store, interval=300)
    probe.clock = lambda: T0  # months away from the wall clock

    rig.check(probe)

    ttl_ms = fake_store.client.pttl(keys.backoff(probe.service.name))
    assert 299_000 <= ttl_ms <= 300_000


def test_the_doubling_wait_stops_at_an_hour(rig_of: RigOf, fake_store: StatusStore):
    rig = rate_limited_pinecone(rig_of)

    assert waits_of(rig, fake_store, 1800, 3) == [1800, 3600, 3600]


def test_an_answer_from_the_vendor_starts_the_doubling_afresh(
    rig_of: RigOf, fake_store: StatusStore
):
    rig = rate_limited_pinecone(rig_of)
    probe = rig.probe(store=fake_store, interval=300)
    probe.clock = lambda: T0
    rig.check(probe)
    rig.imitation.mode = Mode.HEALTHY
    probe.clock = lambda: T0 + timedelta(seconds=301)
    assert rig.check(probe).status is Status.OPERATIONAL
    rig.imitation.mode = Mode.RATE_LIMITED
    later = T0 + timedelta(seconds=700)
    probe.clock = lambda: later

    rig.check(probe)

    hold = fake_store.backoff_until(probe.service.name)
    assert hold is not None
    assert hold[0] == later + timedelta(seconds=300)


def test_a_back_off_is_kept_in_memory_without_a_store(rig_of: RigOf):
    rig = rate_limited_pinecone(rig_of)
    probe = rig.probe(store=None)
    rig.check(probe)
    calls = rig.calls()

    result = rig.check(probe)

    assert result.status is Status.DEGRADED
    assert "not calling before" in (result.reason or "")
    assert rig.calls() == calls


def test_a_back_off_holds_while_redis_is_unreachable(
    rig_of: RigOf, caplog: pytest.LogCaptureFixture
):
    rig = rate_limited_pinecone(rig_of)
    gone = StatusStore(connect(f"redis://127.0.0.1:{closed_port()}/0", timeout=0.2))
    probe = rig.probe(store=gone)
    rig.check(probe)
    calls = rig.calls()

    result = rig.check(probe)

    assert result.status is Status.DEGRADED
    assert rig.calls() == calls
    assert "kept in memory only" in caplog.text


def test_a_restarted_collector_obeys_the_back_off_kept_in_redis(
    rig_of: RigOf, fake_store: StatusStore
):
    rig = rig_of("groq")
    rig.imitation.mode = Mode.RATE_LIMITED
    rig.check(rig.probe(store=fake_store))
    calls = rig.calls()

    result = rig.check(rig.probe(store=fake_store))

    assert result.status is Status.DEGRADED
    assert result.values == {"model": "llama-3.1-70b"}
    assert rig.calls() == calls


def test_a_hold_ending_within_a_second_does_not_skip_a_check():
    backoff = BackOff("svc", None, first_wait=60)
    until = backoff.start(T0, 30, "rate limited (HTTP 429)")

    assert backoff.current(until - timedelta(seconds=2)) is not None
    assert backoff.current(until - timedelta(milliseconds=500)) is None


def test_the_later_of_memory_and_redis_wins(fake_store: StatusStore):
    # Held in memory while Redis was away; another hold reached Redis meanwhile.
    backoff = BackOff("svc", None, first_wait=60)
    backoff.start(utcnow(), 600, "told in memory")
    backoff.store = fake_store
    now = utcnow()
    shorter, longer = now + timedelta(seconds=60), now + timedelta(hours=2)
    fake_store.back_off("svc", shorter, "shorter, in redis", now=now)

    shorter_in_redis = backoff.current(now)
    fake_store.back_off("svc", longer, "longer, in redis", now=now)
    longer_in_redis = backoff.current(now)

    assert shorter_in_redis is not None and shorter_in_redis[1] == "told in memory"
    assert longer_in_redis is not None and longer_in_redis[1] == "longer, in redis"


def test_a_back_off_reason_is_scrubbed_before_it_reaches_redis(
    fake_store: StatusStore,
):
    secret = "SECRET-ECHOED-93c0a1f7e2"
    remember(secret)
    backoff = BackOff("svc", fake_store, first_wait=60)

    backoff.start(utcnow(), 30, f"rate limited for {secret}")

    raw = fake_store.client.get("statusd:backoff:svc")
    assert raw is not None
    assert secret not in raw
    assert MASK in raw


def test_a_probe_whose_budget_is_too_short_to_retry_tries_once(rig: Rig):
    rig.imitation.mode = Mode.SERVER_ERROR

    result = rig.check(timeout=0.1)

    assert result.status is Status.DOWN
    assert rig.calls() == 1


def test_a_client_error_is_down_and_not_retried(rig_of: RigOf):
    rig = rig_of("lluma")

    result = rig.check(path="/v1/nowhere")

    assert result.status is Status.DOWN
    assert result.reason == "HTTP 404"
    assert rig.calls() == 1


def test_a_base_url_from_the_environment_must_be_http(rig_of: RigOf):
    rig = rig_of("lluma")
    environ = {**rig.environ, "LLUMA_BASE_URL": "ftp://example.com"}

    result = rig.check(rig.probe(environ=environ, base_url_env="LLUMA_BASE_URL"))

    assert result.status is Status.DOWN
    assert result.reason == "LLUMA_BASE_URL is not an http(s) URL"
    assert rig.calls() == 0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("47s", 47.0),
        ("0.5s", 0.5),
        ("2m59.56s", 179.56),
        ("1h2m", 3720.0),
        ("500ms", 0.5),
        ("7.66s", 7.66),
        ("", None),
        ("soon", None),
        ("47", None),
        ("47s later", None),
        (47, None),
    ],
)
def test_it_reads_vendor_durations(text: object, seconds: float | None):
    parsed = parse_duration(text)

    if seconds is None:
        assert parsed is None
    else:
        assert parsed == pytest.approx(seconds)


def test_it_reads_retry_after_in_seconds_or_as_a_date():
    in_seconds = CaseInsensitiveDict({"Retry-After": "30"})
    later = format_datetime(utcnow() + timedelta(seconds=90), usegmt=True)
    as_date = CaseInsensitiveDict({"retry-after": later})

    assert retry_after(in_seconds) == 30
    assert 85 <= (retry_after(as_date) or 0) <= 91
    assert retry_after(CaseInsensitiveDict({"Retry-After": "whenever"})) is None
    assert retry_after(CaseInsensitiveDict()) is None


def test_usage_is_a_problem_only_above_its_threshold():
    assert usage_problem(80, 80, "quota") is None
    assert usage_problem(80.4, 80, "quota") == "quota 80% used (above 80%)"


def test_a_finding_degrades_an_operational_result_but_never_lifts_a_down_one():
    fine = ProbeResult.operational(12, model="m")
    down = ProbeResult.down("HTTP 503", 12)

    degraded = worsened(fine, "daily quota 90% used", quota_used_pct=90)
    still_down = worsened(down, "daily quota 90% used", quota_used_pct=90)

    assert degraded.status is Status.DEGRADED
    assert degraded.reason == "daily quota 90% used"
    assert degraded.values == {"model": "m", "quota_used_pct": 90}
    assert still_down.status is Status.DOWN
    assert still_down.reason == "HTTP 503"
    assert still_down.values == {"quota_used_pct": 90}


def test_a_back_off_is_logged_once_naming_the_service(
    rig_of: RigOf, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger="collector.probes.vendor")
    rig = rig_of("lluma")
    rig.imitation.mode = Mode.RATE_LIMITED
    probe = rig.probe()

    rig.check(probe)
    rig.check(probe)

    lines = [r.getMessage() for r in caplog.records if "not calling" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].startswith(f"service={probe.service.name} rate limited")
