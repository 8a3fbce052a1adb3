"""The `pinecone` probe: the index's state from the control plane, its stats."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from vendor_kit import Rig

from collector.probes.pinecone import vector_count
from shared.fields import render_fields
from shared.model import Status, utcnow
from shared.redact import scrub
from statusd.imitations import Mode, RecordedRequest, Reply

RigOf = Callable[[str], Rig]


@pytest.fixture
def pinecone(rig_of: RigOf) -> Rig:
    return rig_of("pinecone")


def test_it_reads_the_state_then_the_stats_with_key_and_version_headers(
    pinecone: Rig,
):
    result = pinecone.check()

    describe, stats = pinecone.imitation.requests
    assert (describe.method, describe.path) == ("GET", "/indexes/social-vectors")
    assert (stats.method, stats.path) == ("POST", "/describe_index_stats")
    assert stats.json() == {}
    for request in (describe, stats):
        assert request.header("api-key") == pinecone.vendor.secret
        assert request.header("x-pinecone-api-version") == "2026-04"
        assert request.query == ""
    fields = render_fields("pinecone", {"latency_ms": 1, **result.values}, utcnow())
    assert fields["totalVectors"] == "12,847"
    assert fields["index"] == "social-vectors"


def test_the_api_version_is_configurable(pinecone: Rig):
    pinecone.check(api_version="2025-10")

    versions = {r.header("x-pinecone-api-version") for r in pinecone.imitation.requests}
    assert versions == {"2025-10"}


def test_an_index_that_is_not_ready_is_degraded_with_its_vectors(pinecone: Rig):
    pinecone.imitation.state = "ScalingUpPodSize"
    pinecone.imitation.total_vectors = 500

    result = pinecone.check()

    assert result.status is Status.DEGRADED
    assert result.reason == "index social-vectors is ScalingUpPodSize"
    assert result.values == {"index": "social-vectors", "total_vectors": 500}


def test_a_data_plane_failing_while_the_index_initializes_is_only_degraded(
    pinecone: Rig,
):
    pinecone.imitation.state = "Initializing"
    healthy = pinecone.imitation.healthy

    def stats_unavailable(request: RecordedRequest) -> Reply:
        if request.path == "/describe_index_stats":
            return pinecone.imitation.server_error(request)
        return healthy(request)

    pinecone.imitation.healthy = stats_unavailable  # type: ignore[method-assign]

    result = pinecone.check()

    assert result.status is Status.DEGRADED
    assert result.reason == "index social-vectors is Initializing"
    assert result.values == {"index": "social-vectors"}


def test_a_missing_index_is_down_naming_it(pinecone: Rig):
    result = pinecone.check(index="other-index")

    assert result.status is Status.DOWN
    assert result.reason == "index other-index not found"
    assert result.values == {"index": "other-index"}
    assert pinecone.calls() == 1


def test_an_index_name_is_not_treated_as_a_secret(pinecone: Rig):
    pinecone.imitation.index_name = "private-looking-index"

    pinecone.check(index="private-looking-index")

    assert scrub("index private-looking-index") == "index private-looking-index"


def test_a_failing_data_plane_is_down(pinecone: Rig):
    healthy = pinecone.imitation.healthy

    def stats_unavailable(request: RecordedRequest) -> Reply:
        if request.path == "/describe_index_stats":
            return pinecone.imitation.server_error(request)
        return healthy(request)

    pinecone.imitation.healthy = stats_unavailable  # type: ignore[method-assign]

    result = pinecone.check()

    assert result.status is Status.DOWN
    assert result.reason == "HTTP 503, UNAVAILABLE"
    # The stats call was retried once; the description was not repeated.
    assert [r.path for r in pinecone.imitation.requests].count(
        "/describe_index_stats"
    ) == 2


def test_a_rejected_key_on_the_control_plane_is_down(pinecone: Rig):
    pinecone.imitation.mode = Mode.REJECTED

    result = pinecone.check()

    assert result.reason == "credential rejected (HTTP 401, UNAUTHENTICATED)"


def answering(pinecone: Rig, path: str, document: Any) -> None:
    """Answer calls to `path` with `document`, and the others as before."""
    healthy = pinecone.imitation.healthy

    def replaced(request: RecordedRequest) -> Reply:
        if request.path == path:
            return pinecone.imitation.reply_json(200, document)
        return healthy(request)

    pinecone.imitation.healthy = replaced  # type: ignore[method-assign]


def test_an_index_described_without_a_host_is_degraded_and_not_counted(
    pinecone: Rig,
):
    described = {"name": "social-vectors", "status": {"ready": True, "state": "Ready"}}
    answering(pinecone, "/indexes/social-vectors", described)

    result = pinecone.check()

    assert result.status is Status.DEGRADED
    assert result.reason == "answer lacks the index host"
    assert result.values == {"index": "social-vectors"}
    assert [r.path for r in pinecone.imitation.requests] == ["/indexes/social-vectors"]


def test_an_index_without_a_host_while_initializing_says_its_state(pinecone: Rig):
    described = {"name": "social-vectors", "status": {"state": "Initializing"}}
    answering(pinecone, "/indexes/social-vectors", described)

    result = pinecone.check()

    assert result.status is Status.DEGRADED
    assert result.reason == "index social-vectors is Initializing"


def test_stats_without_a_vector_count_are_a_partial_answer(pinecone: Rig):
    answering(pinecone, "/describe_index_stats", {"namespaces": {}, "dimension": 8})

    result = pinecone.check()

    assert result.status is Status.DEGRADED
    assert result.reason == "answer lacks the vector count"
    assert result.values == {"index": "social-vectors"}
    assert result.latency_ms is not None


@pytest.mark.parametrize("document", [["social-vectors"], "Ready", None])
def test_a_description_that_is_not_an_object_is_down(pinecone: Rig, document: Any):
    answering(pinecone, "/indexes/social-vectors", document)

    result = pinecone.check()

    assert result.status is Status.DOWN
    assert result.reason == "index description is not a JSON object"
    assert result.values == {"index": "social-vectors"}
    assert pinecone.calls() == 1


@pytest.mark.parametrize(
    ("document", "count"),
    [
        ({"totalVectorCount": 7}, 7),
        ({"total_vector_count": 8}, 8),
        ({"totalVectorCount": "7"}, None),
        ({"namespaces": {}}, None),
        ([], None),
    ],
)
def test_it_accepts_both_spellings_of_the_vector_count(document: object, count: int):
    assert vector_count(document) == count
