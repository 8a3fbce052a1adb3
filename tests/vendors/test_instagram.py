"""The `instagram` probe: Graph's usage headers, its error codes, where the token goes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from requests.structures import CaseInsensitiveDict
from vendor_kit import Rig

from collector.http import Answer
from collector.probes.instagram import highest_usage, regain_minutes
from collector.probes.vendor import Reading
from shared.fields import render_fields
from shared.model import Status, utcnow
from shared.store import StatusStore
from statusd.imitations import Mode

RigOf = Callable[[str], Rig]


@pytest.fixture
def instagram(rig_of: RigOf) -> Rig:
    return rig_of("instagram")


def answer_with(headers: dict[str, Any]) -> Answer:
    encoded = {
        name: value if isinstance(value, str) else json.dumps(value)
        for name, value in headers.items()
    }
    return Answer(200, CaseInsensitiveDict(encoded), b'{"id": "1"}', 5)


def widget(result_values: dict[str, Any]) -> dict[str, Any]:
    return render_fields("instaGraphApi", {"latency_ms": 5, **result_values}, utcnow())


def test_high_usage_is_degraded_and_leaves_the_remaining_share(instagram: Rig):
    instagram.imitation.usage = {"call_count": 85, "total_time": 20, "total_cputime": 9}

    result = instagram.check()

    assert result.status is Status.DEGRADED
    assert result.reason == "Graph rate limit 85% used (above 80%)"
    assert result.values == {"rate_limit_remaining_pct": 15.0}
    assert widget(result.values)["rateLimitRemaining"] == "15%"


def test_the_usage_threshold_is_configurable(instagram: Rig):
    instagram.imitation.usage = {"call_count": 85, "total_time": 20, "total_cputime": 9}

    result = instagram.check(usage_threshold_pct=90)

    assert result.status is Status.OPERATIONAL
    assert result.values == {"rate_limit_remaining_pct": 15.0}


def test_without_usage_headers_the_remaining_share_is_not_measured(instagram: Rig):
    instagram.imitation.usage = None

    result = instagram.check()

    assert result.status is Status.OPERATIONAL
    assert "rate_limit_remaining_pct" not in result.values
    assert widget(result.values)["rateLimitRemaining"] == "N/A"


def test_the_highest_share_of_every_entry_of_every_header_counts():
    answer = answer_with(
        {
            "X-App-Usage": {"call_count": 28, "total_time": 25, "total_cputime": 25},
            "X-Business-Use-Case-Usage": {
                "111": [
                    {"type": "instagram", "call_count": 12, "total_time": 4},
                    {"type": "pages", "call_count": 3, "total_cputime": 64},
                ],
                "222": [{"type": "instagram", "call_count": 1, "total_time": 71}],
            },
            "X-Ad-Account-Usage": {"acc_id_util_pct": 9.67, "reset_time_duration": 99},
        }
    )

    assert highest_usage(answer) == (71.0, [])


def test_the_ad_account_share_counts_too():
    answer = answer_with(
        {
            "X-App-Usage": {"call_count": 5},
            "X-Ad-Account-Usage": {"acc_id_util_pct": 91.5},
        }
    )

    assert highest_usage(answer) == (91.5, [])


def test_times_and_tiers_in_usage_headers_are_not_shares():
    answer = answer_with(
        {
            "X-Business-Use-Case-Usage": {
                "1": [{"call_count": 2, "estimated_time_to_regain_access": 300}]
            },
            "X-Ad-Account-Usage": {"acc_id_util_pct": 1, "reset_time_duration": 3000},
        }
    )

    assert highest_usage(answer) == (2.0, [])


def test_an_unreadable_usage_header_is_a_partial_answer(instagram: Rig):
    answer = answer_with({"X-App-Usage": "{not json", "X-Ad-Account-Usage": {"x": 1}})
    reading = Reading(5)

    instagram.probe().read_usage(answer, reading)

    assert highest_usage(answer) == (None, ["X-App-Usage"])
    assert reading.problems == ["unreadable X-App-Usage header"]
    assert reading.values == {}


def test_the_longest_regain_time_of_any_entry_is_the_wait():
    answer = answer_with(
        {
            "X-Business-Use-Case-Usage": {
                "1": [{"estimated_time_to_regain_access": 3}],
                "2": [{"estimated_time_to_regain_access": 17}],
            }
        }
    )

    assert regain_minutes(answer) == 17


def test_a_rate_limit_without_a_regain_time_backs_off_for_the_interval(
    instagram: Rig, fake_store: StatusStore
):
    instagram.imitation.regain_minutes = 0
    instagram.imitation.mode = Mode.RATE_LIMITED
    probe = instagram.probe(store=fake_store, interval=300)
    started = utcnow()

    result = instagram.check(probe)

    assert result.status is Status.DEGRADED
    assert result.reason is not None
    assert result.reason.startswith("rate limited (HTTP 403, Graph error 4)")
    hold = fake_store.backoff_until(probe.service.name)
    assert hold is not None
    assert 299 <= (hold[0] - started).total_seconds() <= 302


def test_the_token_travels_in_a_header_and_only_id_is_asked(instagram: Rig):
    instagram.check()

    request = instagram.imitation.requests[0]
    assert request.header("authorization") == f"Bearer {instagram.vendor.secret}"
    assert request.params == {"fields": "id"}
    assert request.path == "/v25.0/me"


def test_the_graph_version_and_node_are_configurable(instagram: Rig):
    node = instagram.imitation.user_id

    result = instagram.check(api_version="v24.0", node=node)

    assert result.status is Status.OPERATIONAL
    assert instagram.imitation.requests[0].path == f"/v24.0/{node}"


def test_an_unknown_node_is_down_naming_graph_s_code(instagram: Rig):
    result = instagram.check(node="123")

    assert result.status is Status.DOWN
    assert result.reason == "HTTP 400, Graph error 100"
    assert instagram.calls() == 1
