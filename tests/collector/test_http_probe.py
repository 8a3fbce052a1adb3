"""The `http` probe against local upstreams that answer in every way a vendor might."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import collector_upstreams as upstreams
import pytest
from collector_upstreams import Behaviour, Upstream

from collector import probes
from collector.probes import Deadline, ProbeContext
from collector.runner import ServiceRunner
from shared.config import ServiceConfig, parse
from shared.model import ProbeResult, Status

Serve = Callable[[Behaviour], Upstream]


def http_service(url: str, timeout: float = 2.0, **options: Any) -> ServiceConfig:
    """A validated `http` service, as the configuration file would give it."""
    entry = {"kind": "http", "url": url, "timeout": timeout, **options}
    config = parse({"services": {"api": entry}}, "test.toml", probes.option_models())
    return config.service("api")


def check(
    url: str,
    environ: Mapping[str, str] | None = None,
    seconds: float = 2.0,
    **options: Any,
) -> ProbeResult:
    probe = probes.build(http_service(url, **options), ProbeContext(environ or {}))
    try:
        return probe.check(Deadline(seconds))
    finally:
        probe.close()


def run_through_runner(
    url: str, environ: Mapping[str, str], timeout: float = 2.0, **options: Any
) -> ProbeResult:
    """Probe once the way the collector does, and return what it recorded."""
    service = http_service(url, timeout=timeout, **options)
    probe = probes.build(service, ProbeContext(environ))
    recorded: list[ProbeResult] = []
    runner = ServiceRunner(
        probe, lambda name, result: recorded.append(result), threading.Event()
    )
    runner.run_once()
    probe.close()
    assert len(recorded) == 1
    return recorded[0]


def a_secret() -> str:
    return f"sk-{uuid.uuid4().hex}"


def test_it_reports_a_healthy_endpoint_operational_with_its_latency(serve: Serve):
    upstream = serve(upstreams.slow(0.05))

    result = check(upstream.url + "/health")

    assert result.status is Status.OPERATIONAL
    assert result.reason is None
    assert isinstance(result.latency_ms, int)
    assert result.latency_ms >= 50
    assert [request.path for request in upstream.received] == ["/health"]


def test_it_marks_an_answer_slower_than_degraded_ms_degraded(serve: Serve):
    upstream = serve(upstreams.slow(0.3))

    result = check(upstream.url, degraded_ms=100)

    assert result.status is Status.DEGRADED
    assert result.reason is not None
    assert result.reason.startswith("slow")
    assert "above 100ms" in result.reason
    assert result.latency_ms is not None and result.latency_ms >= 300


def test_it_marks_a_hanging_endpoint_down_within_the_deadline(serve: Serve):
    upstream = serve(upstreams.hanging())

    started = time.monotonic()
    result = check(upstream.url, seconds=0.4)
    took = time.monotonic() - started

    assert result.status is Status.DOWN
    assert "did not answer" in (result.reason or "")
    # Generous for a slow machine, far below the upstream's own hang limit.
    assert took < 0.4 + 1.5


def test_it_marks_an_answer_stalling_mid_body_down_as_unfinished(serve: Serve):
    upstream = serve(upstreams.stalling())

    result = check(upstream.url, seconds=0.4)

    assert result.status is Status.DOWN
    assert result.reason == "127.0.0.1 did not finish its answer within 0.4s"


def test_it_marks_an_answer_trickling_past_the_timeout_down_as_unfinished(
    serve: Serve,
):
    # Each byte comes well within the timeout of one read; the whole body cannot.
    upstream = serve(upstreams.trickling(every=0.05))

    started = time.monotonic()
    result = check(upstream.url, seconds=0.5, timeout=0.5)
    took = time.monotonic() - started

    assert result.status is Status.DOWN
    assert result.reason == "127.0.0.1 did not finish its answer within 0.5s"
    # The body alone would take over 3s; stopping at the timeout is the point.
    assert took < 2.0


def test_it_marks_a_server_error_down_naming_the_status(serve: Serve):
    upstream = serve(upstreams.failing(500))

    result = check(upstream.url)

    assert result.status is Status.DOWN
    assert "HTTP 500" in (result.reason or "")
    assert result.latency_ms is not None


@pytest.mark.parametrize("status", [401, 403])
def test_it_marks_a_rejected_credential_down(serve: Serve, status: int):
    upstream = serve(upstreams.failing(status))

    result = check(upstream.url)

    assert result.status is Status.DOWN
    assert result.reason == f"credential rejected (HTTP {status})"


def test_it_marks_a_rate_limited_endpoint_degraded(serve: Serve):
    upstream = serve(upstreams.failing(429))

    result = check(upstream.url)

    assert result.status is Status.DEGRADED
    assert "rate limited" in (result.reason or "")


def test_it_marks_a_refused_connection_down():
    result = check(f"http://127.0.0.1:{upstreams.refused_port()}/health")

    assert result.status is Status.DOWN
    assert result.reason == "no connection to 127.0.0.1 (connection refused)"


def test_it_marks_an_answer_that_is_not_json_down_when_values_are_extracted(
    serve: Serve,
):
    upstream = serve(upstreams.broken_json())

    result = check(upstream.url, extract={"model": "model.version"})

    assert result.status is Status.DOWN
    assert "not JSON" in (result.reason or "")


def test_it_ignores_a_body_that_is_not_json_when_nothing_is_extracted(serve: Serve):
    upstream = serve(upstreams.broken_json())

    assert check(upstream.url).status is Status.OPERATIONAL


def test_it_marks_a_missing_extract_path_degraded_naming_the_path(serve: Serve):
    upstream = serve(upstreams.healthy({"model": {"name": "m"}, "count": 3}))

    result = check(
        upstream.url, extract={"model": "model.version", "total_vectors": "count"}
    )

    assert result.status is Status.DEGRADED
    assert "model.version" in (result.reason or "")
    # What was found is still kept.
    assert result.values == {"total_vectors": 3}


def test_it_stores_extracted_values_under_their_measurement_names(serve: Serve):
    document = {"model": {"version": "v7"}, "stats": [{"vectors": 12847}]}
    upstream = serve(upstreams.healthy(document))

    result = check(
        upstream.url,
        extract={"model": "model.version", "total_vectors": "stats.0.vectors"},
    )

    assert result.status is Status.OPERATIONAL
    assert result.values == {"model": "v7", "total_vectors": 12847}


def test_it_keeps_an_object_or_list_at_an_extract_path_out_of_the_result(
    serve: Serve,
):
    token = a_secret()
    document = {"model": {"key": token, "list": [token]}}
    upstream = serve(upstreams.healthy(document))

    result = run_through_runner(
        upstream.url,
        {"SERVICE_TOKEN": token},
        headers={"Authorization": "Bearer ${SERVICE_TOKEN}"},
        extract={"model_version": "model", "model": "model.list"},
    )

    assert upstream.received[0].headers["authorization"] == f"Bearer {token}"
    assert result.status is Status.DEGRADED
    assert result.reason == "field model is not a single value"
    assert result.values == {}
    assert token not in repr(result)
    assert token[3:11] not in repr(result)


def test_it_keeps_the_single_values_beside_one_that_is_not(serve: Serve):
    upstream = serve(upstreams.healthy({"model": {"version": "v7"}, "count": 3}))

    result = check(upstream.url, extract={"model": "model", "total_vectors": "count"})

    assert result.status is Status.DEGRADED
    assert result.reason == "field model is not a single value"
    assert result.values == {"total_vectors": 3}


def test_it_fills_header_placeholders_from_the_environment(serve: Serve):
    upstream = serve(upstreams.healthy())
    token = a_secret()

    result = check(
        upstream.url,
        environ={"SERVICE_TOKEN": token},
        headers={"Authorization": "Bearer ${SERVICE_TOKEN}", "X-Plain": "fixed"},
    )

    assert result.status is Status.OPERATIONAL
    received = upstream.received[0].headers
    assert received["authorization"] == f"Bearer {token}"
    assert received["x-plain"] == "fixed"


def test_it_reads_unknown_when_a_placeholder_variable_is_unset(serve: Serve):
    upstream = serve(upstreams.healthy())

    result = run_through_runner(
        upstream.url,
        environ={"OTHER": "value"},
        headers={"Authorization": "Bearer ${SERVICE_TOKEN}"},
    )

    assert result.status is Status.UNKNOWN
    assert result.reason == "not configured: SERVICE_TOKEN is not set"
    assert upstream.received == []


@pytest.mark.parametrize(
    "behaviour",
    [upstreams.failing(500), upstreams.failing(401), upstreams.hanging(), None],
    ids=["server-error", "rejected", "hang", "refused"],
)
def test_it_keeps_a_secret_in_the_url_query_out_of_the_reason(
    serve: Serve, behaviour: Behaviour | None
):
    secret = a_secret()
    if behaviour is None:
        base = f"http://127.0.0.1:{upstreams.refused_port()}"
    else:
        base = serve(behaviour).url
    url = base + "/v1/models?key=${VENDOR_KEY}"

    direct = check(url, environ={"VENDOR_KEY": secret}, seconds=0.5)
    recorded = run_through_runner(url, {"VENDOR_KEY": secret}, timeout=0.5)

    for result in (direct, recorded):
        assert result.status is Status.DOWN
        assert result.reason
        assert secret not in result.reason
        assert "key=" not in result.reason


def test_it_sends_the_filled_query_secret_to_the_endpoint(serve: Serve):
    upstream = serve(upstreams.healthy())
    secret = a_secret()

    check(upstream.url + "/v1?key=${VENDOR_KEY}", environ={"VENDOR_KEY": secret})

    assert upstream.received[0].path == f"/v1?key={secret}"


def test_it_accepts_any_status_in_expect_status(serve: Serve):
    upstream = serve(Behaviour(status=202, body=b"{}"))

    result = check(upstream.url, expect_status=[200, 202])

    assert result.status is Status.OPERATIONAL


def test_it_marks_a_status_outside_expect_status_down(serve: Serve):
    upstream = serve(upstreams.healthy())

    result = check(upstream.url, expect_status=204)

    assert result.status is Status.DOWN
    assert result.reason == "HTTP 200 (expected 204)"


def test_it_marks_an_answer_larger_than_one_mib_down(serve: Serve):
    upstream = serve(upstreams.huge())

    result = check(upstream.url, extract={"model": "padding"})

    assert result.status is Status.DOWN
    assert "1 MiB" in (result.reason or "")
    assert "127.0.0.1" in (result.reason or "")


def test_it_reads_an_answer_just_under_one_mib(serve: Serve):
    upstream = serve(upstreams.huge(size=(1 << 20) - 16))

    result = check(upstream.url, extract={"model": "padding"})

    assert result.status is Status.OPERATIONAL
    assert len(result.values["model"]) > 1_000_000


# urllib3 warns of every unverified request; here that is the point.
@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_a_server_whose_certificate_cannot_be_verified_is_down(tls_url: str):
    verified = check(tls_url)
    unverified = check(tls_url, verify_tls=False)

    assert verified.status is Status.DOWN
    assert verified.reason == "TLS handshake with 127.0.0.1 failed"
    assert unverified.status is Status.OPERATIONAL
