"""The `groq` probe: the configured model in Groq's list, its rate headers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from vendor_kit import Rig

from shared.model import Status
from shared.redact import scrub
from shared.store import StatusStore
from statusd.imitations import Mode, RecordedRequest, Reply

RigOf = Callable[[str], Rig]


@pytest.fixture
def groq(rig_of: RigOf) -> Rig:
    return rig_of("groq")


def test_a_model_groq_no_longer_offers_is_degraded_saying_so(groq: Rig):
    groq.imitation.models = ["llama-3.3-70b-versatile"]

    result = groq.check()

    assert result.status is Status.DEGRADED
    assert result.reason == "model llama-3.1-70b is not offered by Groq"
    assert result.values["model"] == "llama-3.1-70b"


def test_the_model_reported_is_the_configured_one(groq: Rig):
    result = groq.check(model="mixtral-8x7b-32768")

    assert result.status is Status.OPERATIONAL
    assert result.values["model"] == "mixtral-8x7b-32768"


def test_a_model_name_is_not_treated_as_a_secret(groq: Rig):
    groq.check(model="mixtral-8x7b-32768")

    assert scrub("using mixtral-8x7b-32768") == "using mixtral-8x7b-32768"


def test_an_answer_without_the_list_is_partial(groq: Rig):
    groq.imitation.healthy = lambda request: groq.imitation.reply_json(  # type: ignore[method-assign]
        200, {"object": "list"}
    )

    result = groq.check()

    assert result.status is Status.DEGRADED
    assert result.reason == "answer lacks the model list"


def test_daily_requests_used_above_the_threshold_are_degraded(groq: Rig):
    groq.imitation.daily_request_limit = 10
    for _ in range(8):
        groq.check()

    result = groq.check()

    assert result.status is Status.DEGRADED
    assert result.reason == "daily request limit 90% used (above 80%)"
    assert result.values["rate_limit_remaining_pct"] == 10.0


def test_the_key_travels_as_a_bearer_header(groq: Rig):
    groq.check()

    request = groq.imitation.requests[0]
    assert request.path == "/openai/v1/models"
    assert request.query == ""
    assert request.header("authorization") == f"Bearer {groq.vendor.secret}"


def test_flex_capacity_exhausted_backs_off_like_a_rate_limit(
    groq: Rig, fake_store: StatusStore
):
    def over_capacity(request: RecordedRequest) -> Reply:
        error = {"message": "flex tier capacity exceeded", "code": "capacity_exceeded"}
        return groq.imitation.reply_json(498, {"error": error})

    groq.imitation.healthy = over_capacity  # type: ignore[method-assign]
    probe = groq.probe(store=fake_store, interval=120)

    result = groq.check(probe)

    assert result.status is Status.DEGRADED
    assert result.reason is not None
    assert result.reason.startswith("rate limited (HTTP 498, capacity_exceeded)")
    assert fake_store.backoff_until(probe.service.name) is not None


def test_a_rate_limit_names_groq_s_error_code(groq: Rig):
    groq.imitation.mode = Mode.RATE_LIMITED

    result = groq.check()

    assert result.reason is not None
    assert result.reason.startswith("rate limited (HTTP 429, rate_limit_exceeded)")
