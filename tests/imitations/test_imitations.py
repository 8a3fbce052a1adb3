"""Check that each vendor imitation answers like the real API, in every mode."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from statusd.imitations import (
    VENDORS,
    GeminiImitation,
    GroqImitation,
    Imitation,
    InstagramImitation,
    LlumaImitation,
    Mode,
    PineconeImitation,
)

SECRET = "test-secret-7f3a"
WRONG = "wrong-secret"

ANSWERING_MODES = [mode for mode in Mode if mode is not Mode.HANG]


@dataclass(frozen=True)
class Call:
    """Describe the cheapest authenticated call to one vendor and its statuses."""

    method: str
    path: str
    auth: Callable[[str], dict[str, str]]
    statuses: dict[Mode, int]
    body: Any = None
    extra_headers: dict[str, str] = field(default_factory=dict)


def _statuses(rejected: int, rate_limited: int, server_error: int) -> dict[Mode, int]:
    ok = {Mode.HEALTHY: 200, Mode.SLOW: 200, Mode.GARBAGE: 200}
    return ok | {
        Mode.REJECTED: rejected,
        Mode.RATE_LIMITED: rate_limited,
        Mode.SERVER_ERROR: server_error,
    }


CALLS = {
    "instagram": Call(
        "GET",
        "/v25.0/me?fields=id,username",
        lambda key: {"Authorization": f"Bearer {key}"},
        _statuses(400, 403, 500),
    ),
    "groq": Call(
        "GET",
        "/openai/v1/models",
        lambda key: {"Authorization": f"Bearer {key}"},
        _statuses(401, 429, 503),
    ),
    "gemini": Call(
        "GET",
        "/v1beta/models",
        lambda key: {"x-goog-api-key": key},
        _statuses(400, 429, 503),
    ),
    "pinecone": Call(
        "POST",
        "/describe_index_stats",
        lambda key: {"Api-Key": key},
        _statuses(401, 429, 503),
        body={},
        extra_headers={"X-Pinecone-Api-Version": "2026-04"},
    ),
    "lluma": Call(
        "GET",
        "/v1/status",
        lambda key: {"X-Lluma-Key": key},
        _statuses(401, 429, 502),
    ),
}


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as opened:
        # A proxy from the environment must not stand between the tests and loopback.
        opened.trust_env = False
        yield opened


@pytest.fixture(params=sorted(VENDORS))
def vendor(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def imitation(vendor: str) -> Iterator[Imitation]:
    with VENDORS[vendor](SECRET) as running:
        # One test checks slow mode's delay; here it must not slow the whole suite.
        running.latency = 0.0
        yield running


@pytest.fixture
def serve() -> Iterator[Callable[[type[Imitation]], Any]]:
    started: list[Imitation] = []

    def start(cls: type[Imitation]) -> Any:
        running = cls(SECRET).start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


def call(
    session: requests.Session,
    imitation: Imitation,
    key: str | None = SECRET,
    timeout: float = 2.0,
) -> requests.Response:
    """Make the vendor's usual call, with `key` where that vendor wants it."""
    spec = CALLS[imitation.name]
    headers = dict(spec.extra_headers) | (spec.auth(key) if key is not None else {})
    return session.request(
        spec.method,
        imitation.url + spec.path,
        headers=headers,
        json=spec.body,
        timeout=timeout,
    )


def is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


# -- every vendor --------------------------------------------------------------------


def test_vendors_maps_each_name_to_its_imitation() -> None:
    assert {
        "instagram": InstagramImitation,
        "groq": GroqImitation,
        "gemini": GeminiImitation,
        "pinecone": PineconeImitation,
        "lluma": LlumaImitation,
    } == VENDORS


@pytest.mark.parametrize("mode", ANSWERING_MODES)
def test_each_mode_answers_with_the_vendors_status_code(
    session: requests.Session, imitation: Imitation, mode: Mode
) -> None:
    imitation.mode = mode

    response = call(session, imitation)

    assert response.status_code == CALLS[imitation.name].statuses[mode]


@pytest.mark.parametrize("mode", ANSWERING_MODES)
def test_a_wrong_key_is_rejected_whatever_the_mode(
    session: requests.Session, imitation: Imitation, mode: Mode
) -> None:
    imitation.mode = mode

    response = call(session, imitation, key=WRONG)

    assert response.status_code == CALLS[imitation.name].statuses[Mode.REJECTED]
    assert is_json(response.text)


def test_a_missing_key_is_rejected(
    session: requests.Session, imitation: Imitation
) -> None:
    response = call(session, imitation, key=None)

    assert response.status_code == CALLS[imitation.name].statuses[Mode.REJECTED]


@pytest.mark.parametrize("style", ["html", "truncated"])
def test_garbage_mode_answers_200_with_a_body_that_is_not_json(
    session: requests.Session, imitation: Imitation, style: str
) -> None:
    imitation.mode = Mode.GARBAGE
    imitation.garbage_style = style

    response = call(session, imitation)

    assert response.status_code == 200
    assert response.text
    assert not is_json(response.text)


def test_hang_mode_answers_nothing_and_stop_still_returns_promptly(
    session: requests.Session, imitation: Imitation
) -> None:
    imitation.mode = Mode.HANG

    with pytest.raises(requests.exceptions.ReadTimeout):
        call(session, imitation, timeout=0.5)

    started = time.monotonic()
    imitation.stop()
    assert time.monotonic() - started < 2.0


def test_slow_mode_delays_the_answer_by_the_latency(
    session: requests.Session, serve: Callable[..., Imitation]
) -> None:
    groq = serve(GroqImitation)
    groq.mode = Mode.SLOW
    groq.latency = 0.3

    started = time.monotonic()
    response = call(session, groq)

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_base_latency_delays_answers_in_every_mode(
    session: requests.Session, serve: Callable[..., Imitation]
) -> None:
    groq = serve(GroqImitation)
    groq.mode = Mode.SERVER_ERROR
    groq.base_latency = 0.2

    started = time.monotonic()
    response = call(session, groq, key=WRONG)

    assert response.status_code == 401
    assert time.monotonic() - started >= 0.2


def test_an_unknown_path_answers_404_with_a_json_error(
    session: requests.Session, imitation: Imitation
) -> None:
    response = session.get(imitation.url + "/no/such/path", timeout=2)

    assert response.status_code == 404
    assert "error" in response.json()


def test_every_call_is_recorded_with_the_secret_in_a_header_not_the_url(
    session: requests.Session, imitation: Imitation
) -> None:
    call(session, imitation)
    call(session, imitation, key=WRONG)

    first, second = imitation.requests
    assert any(SECRET in value for value in first.headers.values())
    assert SECRET not in first.target
    assert any(WRONG in value for value in second.headers.values())
    assert imitation.calls() == 2
    assert imitation.calls(CALLS[imitation.name].path.split("?")[0]) == 2
    assert imitation.calls("/elsewhere") == 0


def test_control_endpoint_switches_mode_and_reports_state(
    session: requests.Session, imitation: Imitation
) -> None:
    call(session, imitation)

    switched = session.post(
        imitation.url + "/_imitation/mode",
        json={"mode": "rate_limited", "latency": 2.0},
        timeout=2,
    )
    state = session.get(imitation.url + "/_imitation/state", timeout=2).json()

    assert switched.status_code == 200
    assert switched.json()["mode"] == "rate_limited"
    assert imitation.mode is Mode.RATE_LIMITED
    assert imitation.latency == 2.0
    assert (state["mode"], state["latency"], state["calls"]) == ("rate_limited", 2.0, 1)
    rate_limited = CALLS[imitation.name].statuses[Mode.RATE_LIMITED]
    assert call(session, imitation).status_code == rate_limited


@pytest.mark.parametrize(
    "change",
    [
        {"mode": "sideways"},
        {"latency": 1.0},
        {"mode": "slow", "latency": -1},
        {"mode": "slow", "latency": "fast"},
        ["slow"],
    ],
)
def test_control_endpoint_refuses_a_bad_change_with_400(
    session: requests.Session, imitation: Imitation, change: Any
) -> None:
    response = session.post(imitation.url + "/_imitation/mode", json=change, timeout=2)

    assert response.status_code == 400
    assert "error" in response.json()
    assert imitation.mode is Mode.HEALTHY


def test_control_calls_are_not_recorded_as_vendor_calls(
    session: requests.Session, imitation: Imitation
) -> None:
    session.get(imitation.url + "/_imitation/state", timeout=2)

    assert imitation.calls() == 0


def test_a_hung_call_does_not_hold_up_other_callers(
    session: requests.Session, imitation: Imitation
) -> None:
    imitation.mode = Mode.HANG
    errors: list[Exception] = []

    def hang() -> None:
        with requests.Session() as other:
            other.trust_env = False
            try:
                call(other, imitation, timeout=5)
            except requests.RequestException as exc:
                errors.append(exc)

    caller = threading.Thread(target=hang)
    caller.start()
    _wait_for(lambda: imitation.calls() == 1)
    imitation.mode = Mode.HEALTHY

    assert call(session, imitation).status_code == 200
    imitation.stop()
    caller.join(timeout=2)
    assert not caller.is_alive()
    assert len(errors) == 1


def test_setting_an_unknown_mode_raises_value_error() -> None:
    imitation = LlumaImitation(SECRET)

    with pytest.raises(ValueError, match="unknown mode"):
        imitation.mode = "sideways"


def test_modes_are_strings() -> None:
    assert Mode.RATE_LIMITED == "rate_limited"
    assert Mode("hang") is Mode.HANG


def _wait_for(condition: Callable[[], bool], seconds: float = 2.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


# -- Instagram -----------------------------------------------------------------------


def _bearer(key: str = SECRET) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_instagram_answers_the_requested_fields_with_usage_headers(
    session: requests.Session, serve: Callable[..., InstagramImitation]
) -> None:
    ig = serve(InstagramImitation)
    ig.usage = {"call_count": 28, "total_time": 25, "total_cputime": 9}

    response = session.get(f"{ig.url}/v25.0/me?fields=username", headers=_bearer())

    assert response.json() == {"username": ig.username, "id": ig.user_id}
    assert json.loads(response.headers["X-App-Usage"]) == ig.usage
    (entry,) = json.loads(response.headers["X-Business-Use-Case-Usage"])[ig.user_id]
    assert entry == {
        "type": "instagram",
        "call_count": 28,
        "total_time": 25,
        "total_cputime": 9,
        "estimated_time_to_regain_access": 0,
    }


def test_instagram_leaves_out_usage_headers_when_usage_is_unknown(
    session: requests.Session, serve: Callable[..., InstagramImitation]
) -> None:
    ig = serve(InstagramImitation)
    ig.usage = None

    response = session.get(f"{ig.url}/v19.0/me?fields=id", headers=_bearer())

    assert response.json() == {"id": ig.user_id}
    assert "X-App-Usage" not in response.headers
    assert "X-Business-Use-Case-Usage" not in response.headers


def test_instagram_accepts_the_token_as_a_query_parameter(
    session: requests.Session, serve: Callable[..., InstagramImitation]
) -> None:
    ig = serve(InstagramImitation)

    response = session.get(f"{ig.url}/v25.0/me", params={"access_token": SECRET})

    assert response.status_code == 200
    assert SECRET in ig.requests[0].target


def test_instagram_refuses_an_unknown_field_with_code_100(
    session: requests.Session, serve: Callable[..., InstagramImitation]
) -> None:
    ig = serve(InstagramImitation)

    response = session.get(f"{ig.url}/v25.0/me?fields=id,email", headers=_bearer())

    assert response.status_code == 400
    assert response.json()["error"]["code"] == 100


def test_instagram_rejects_a_bad_token_with_code_190(
    session: requests.Session, serve: Callable[..., InstagramImitation]
) -> None:
    ig = serve(InstagramImitation)

    response = session.get(f"{ig.url}/v25.0/me", headers=_bearer(WRONG))

    error = response.json()["error"]
    assert response.status_code == 400
    assert error["code"] == 190
    assert error["error_subcode"] == 463
    assert error["type"] == "OAuthException"
    assert error["fbtrace_id"]


def test_instagram_rate_limit_is_code_4_with_full_usage_and_regain_time(
    session: requests.Session, serve: Callable[..., InstagramImitation]
) -> None:
    ig = serve(InstagramImitation)
    ig.mode = Mode.RATE_LIMITED
    ig.regain_minutes = 7

    response = session.get(f"{ig.url}/v25.0/me", headers=_bearer())

    error = response.json()["error"]
    assert (response.status_code, error["code"], error["is_transient"]) == (
        403,
        4,
        True,
    )
    assert json.loads(response.headers["X-App-Usage"])["call_count"] == 100
    (entry,) = json.loads(response.headers["X-Business-Use-Case-Usage"])[ig.user_id]
    assert entry["call_count"] == 100
    assert entry["estimated_time_to_regain_access"] == 7


def test_instagram_server_error_is_transient_code_2(
    session: requests.Session, serve: Callable[..., InstagramImitation]
) -> None:
    ig = serve(InstagramImitation)
    ig.mode = Mode.SERVER_ERROR

    response = session.get(f"{ig.url}/v25.0/me", headers=_bearer())

    error = response.json()["error"]
    assert (response.status_code, error["code"], error["is_transient"]) == (
        500,
        2,
        True,
    )
    assert "temporarily unavailable" in error["message"]


# -- Groq ----------------------------------------------------------------------------


def test_groq_lists_its_models_with_rate_limit_headers(
    session: requests.Session, serve: Callable[..., GroqImitation]
) -> None:
    groq = serve(GroqImitation)

    response = session.get(f"{groq.url}/openai/v1/models", headers=_bearer())

    body = response.json()
    assert body["object"] == "list"
    assert [model["id"] for model in body["data"]] == groq.models
    assert "llama-3.1-70b" in groq.models
    assert set(body["data"][0]) == {
        "id",
        "object",
        "created",
        "owned_by",
        "active",
        "context_window",
    }
    assert response.headers["x-ratelimit-remaining-requests"] == "14399"
    assert response.headers["x-ratelimit-reset-tokens"].endswith("s")
    assert "retry-after" not in response.headers


def test_groq_rejects_a_bad_key_as_invalid_api_key(
    session: requests.Session, serve: Callable[..., GroqImitation]
) -> None:
    groq = serve(GroqImitation)

    response = session.get(f"{groq.url}/openai/v1/models", headers=_bearer(WRONG))

    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "message": "Invalid API Key",
            "type": "invalid_request_error",
            "code": "invalid_api_key",
        }
    }


def test_groq_rate_limit_carries_retry_after(
    session: requests.Session, serve: Callable[..., GroqImitation]
) -> None:
    groq = serve(GroqImitation)
    groq.mode = Mode.RATE_LIMITED
    groq.retry_after = 12

    response = session.get(f"{groq.url}/openai/v1/models", headers=_bearer())

    assert response.status_code == 429
    assert response.headers["retry-after"] == "12"
    assert response.json()["error"]["code"] == "rate_limit_exceeded"


def test_groq_server_error_is_503_over_capacity(
    session: requests.Session, serve: Callable[..., GroqImitation]
) -> None:
    groq = serve(GroqImitation)
    groq.mode = Mode.SERVER_ERROR

    response = session.get(f"{groq.url}/openai/v1/models", headers=_bearer())

    assert response.status_code == 503
    assert "over capacity" in response.json()["error"]["message"]


# -- Gemini --------------------------------------------------------------------------


def _goog(key: str = SECRET) -> dict[str, str]:
    return {"x-goog-api-key": key}


def test_gemini_lists_models_by_resource_name(
    session: requests.Session, serve: Callable[..., GeminiImitation]
) -> None:
    gemini = serve(GeminiImitation)

    response = session.get(f"{gemini.url}/v1beta/models", headers=_goog())

    first = response.json()["models"][0]
    assert first["name"] == "models/gemini-2.5-flash"
    assert first["version"] == "001"
    assert first["displayName"] == "Gemini 2.5 Flash"


def test_gemini_accepts_the_key_as_a_query_parameter(
    session: requests.Session, serve: Callable[..., GeminiImitation]
) -> None:
    gemini = serve(GeminiImitation)

    response = session.get(f"{gemini.url}/v1beta/models", params={"key": SECRET})

    assert response.status_code == 200


def test_gemini_rejects_a_bad_key_as_api_key_invalid(
    session: requests.Session, serve: Callable[..., GeminiImitation]
) -> None:
    gemini = serve(GeminiImitation)

    response = session.get(f"{gemini.url}/v1beta/models", headers=_goog(WRONG))

    error = response.json()["error"]
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
    assert error["message"] == "API key not valid. Please pass a valid API key."
    assert {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "API_KEY_INVALID",
        "domain": "googleapis.com",
    }.items() <= error["details"][0].items()


def test_gemini_rate_limit_gives_retry_delay_only_in_the_body(
    session: requests.Session, serve: Callable[..., GeminiImitation]
) -> None:
    gemini = serve(GeminiImitation)
    gemini.mode = Mode.RATE_LIMITED

    response = session.get(f"{gemini.url}/v1beta/models", headers=_goog())

    error = response.json()["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    retry = [d for d in error["details"] if d["@type"].endswith("google.rpc.RetryInfo")]
    assert retry == [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "47s"}
    ]
    assert "Retry-After" not in response.headers


def test_gemini_server_error_is_503_unavailable(
    session: requests.Session, serve: Callable[..., GeminiImitation]
) -> None:
    gemini = serve(GeminiImitation)
    gemini.mode = Mode.SERVER_ERROR

    response = session.get(f"{gemini.url}/v1beta/models", headers=_goog())

    assert response.json()["error"]["status"] == "UNAVAILABLE"


# -- Pinecone ------------------------------------------------------------------------


def _api_key(key: str = SECRET) -> dict[str, str]:
    return {"Api-Key": key, "X-Pinecone-Api-Version": "2026-04"}


def test_pinecone_describes_its_index_with_this_server_as_host(
    session: requests.Session, serve: Callable[..., PineconeImitation]
) -> None:
    pinecone = serve(PineconeImitation)

    response = session.get(f"{pinecone.url}/indexes/social-vectors", headers=_api_key())

    body = response.json()
    assert body["host"] == pinecone.url.removeprefix("http://")
    assert body["status"] == {"ready": True, "state": "Ready"}
    assert (body["dimension"], body["metric"]) == (1024, "cosine")
    assert body["deletion_protection"] == "disabled"


def test_pinecone_reports_an_index_that_is_not_ready(
    session: requests.Session, serve: Callable[..., PineconeImitation]
) -> None:
    pinecone = serve(PineconeImitation)
    pinecone.state = "ScalingUp"

    response = session.get(f"{pinecone.url}/indexes/social-vectors", headers=_api_key())

    assert response.json()["status"] == {"ready": False, "state": "ScalingUp"}


def test_pinecone_answers_404_for_an_unknown_index(
    session: requests.Session, serve: Callable[..., PineconeImitation]
) -> None:
    pinecone = serve(PineconeImitation)

    response = session.get(f"{pinecone.url}/indexes/other", headers=_api_key())

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert response.json()["status"] == 404


def test_pinecone_stats_count_vectors_across_namespaces(
    session: requests.Session, serve: Callable[..., PineconeImitation]
) -> None:
    pinecone = serve(PineconeImitation)

    response = session.post(
        f"{pinecone.url}/describe_index_stats", json={}, headers=_api_key()
    )

    stats = response.json()
    assert stats["totalVectorCount"] == 12_847
    namespaces = stats["namespaces"].values()
    assert sum(ns["vectorCount"] for ns in namespaces) == 12_847
    assert stats["vectorType"] == "dense"
    assert pinecone.requests[0].header("X-Pinecone-Api-Version") == "2026-04"
    assert pinecone.requests[0].json() == {}


def test_pinecone_words_a_bad_key_differently_on_each_plane(
    session: requests.Session, serve: Callable[..., PineconeImitation]
) -> None:
    pinecone = serve(PineconeImitation)

    control = session.get(
        f"{pinecone.url}/indexes/social-vectors", headers=_api_key("x")
    )
    data = session.post(
        f"{pinecone.url}/describe_index_stats", json={}, headers=_api_key("x")
    )

    assert control.status_code == data.status_code == 401
    assert control.json() == {
        "error": {"code": "UNAUTHENTICATED", "message": "Invalid API Key"},
        "status": 401,
    }
    assert data.json()["code"] == 16
    assert data.json()["details"] == []


def test_pinecone_rate_limit_has_no_rate_headers(
    session: requests.Session, serve: Callable[..., PineconeImitation]
) -> None:
    pinecone = serve(PineconeImitation)
    pinecone.mode = Mode.RATE_LIMITED

    response = session.get(f"{pinecone.url}/indexes/social-vectors", headers=_api_key())

    assert response.status_code == 429
    assert response.json()["error"]["code"] == "RESOURCE_EXHAUSTED"
    assert "Retry-After" not in response.headers
    assert not [name for name in response.headers if "ratelimit" in name.lower()]
    data = session.post(
        f"{pinecone.url}/describe_index_stats", json={}, headers=_api_key()
    )
    assert (data.status_code, data.json()["code"]) == (429, 8)


def test_pinecone_server_error_is_unavailable(
    session: requests.Session, serve: Callable[..., PineconeImitation]
) -> None:
    pinecone = serve(PineconeImitation)
    pinecone.mode = Mode.SERVER_ERROR

    response = session.get(f"{pinecone.url}/indexes/social-vectors", headers=_api_key())

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "UNAVAILABLE"


# -- Lluma ---------------------------------------------------------------------------


def test_lluma_reports_its_model_version(
    session: requests.Session, serve: Callable[..., LlumaImitation]
) -> None:
    lluma = serve(LlumaImitation)
    lluma.model_version = "v2.4.0"

    response = session.get(f"{lluma.url}/v1/status", headers={"X-Lluma-Key": SECRET})

    assert response.json() == {
        "status": "ok",
        "model": {"name": "lluma-large", "version": "v2.4.0"},
    }


def test_lluma_reads_the_key_from_the_configured_header(
    session: requests.Session, serve: Callable[..., LlumaImitation]
) -> None:
    lluma = serve(LlumaImitation)
    lluma.auth_header = "Authorization"

    old = session.get(f"{lluma.url}/v1/status", headers={"X-Lluma-Key": SECRET})
    new = session.get(f"{lluma.url}/v1/status", headers={"Authorization": SECRET})

    assert (old.status_code, old.json()) == (401, {"error": "unauthorized"})
    assert new.status_code == 200


def test_lluma_rate_limit_says_retry_after_20(
    session: requests.Session, serve: Callable[..., LlumaImitation]
) -> None:
    lluma = serve(LlumaImitation)
    lluma.mode = Mode.RATE_LIMITED

    response = session.get(f"{lluma.url}/v1/status", headers={"X-Lluma-Key": SECRET})

    assert (response.status_code, response.headers["Retry-After"]) == (429, "20")


def test_lluma_server_error_is_a_502_html_page(
    session: requests.Session, serve: Callable[..., LlumaImitation]
) -> None:
    lluma = serve(LlumaImitation)
    lluma.mode = Mode.SERVER_ERROR

    response = session.get(f"{lluma.url}/v1/status", headers={"X-Lluma-Key": SECRET})

    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert "502 Bad Gateway" in response.text
