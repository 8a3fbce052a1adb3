"""`pinecone`: the index's description and its stats, two reads and no write.

Each check makes two calls, both with `Api-Key` and `X-Pinecone-Api-Version`
headers:

1. control plane: `GET {base_url}/indexes/{index}` (default
   `https://api.pinecone.io`), for the index's state and data-plane host;
2. data plane: `POST https://{host}/describe_index_stats` with `{}`, for the
   vector count (`totalVectorCount`, or `total_vector_count` in older versions).

Neither queries, fetches or writes vectors. At the default interval (120 s) that
is 720 checks, 1,440 calls a day. `latency_ms` is the stats call's, the plane the
app's queries use. An index whose state is not `Ready` is `degraded`; its vector
count is still read when the data plane answers. The host's scheme follows the
control plane's (Pinecone gives hosts without one), so a local imitation on
plain http works.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from pydantic import Field

from collector.http import Answer, BadAnswer
from collector.probes.base import Deadline
from collector.probes.vendor import (
    Broken,
    Reading,
    VendorOptions,
    VendorProbe,
    error_object,
    safe_code,
)

# The data plane answers errors with gRPC's numeric codes; reasons show their names.
GRPC_CODES = {
    3: "INVALID_ARGUMENT",
    5: "NOT_FOUND",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    16: "UNAUTHENTICATED",
}


class PineconeOptions(VendorOptions):
    api_key_env: str = Field("PINECONE_API_KEY", description="variable holding the key")
    base_url: str = Field("https://api.pinecone.io", description="the control plane")
    api_version: str = Field("2026-04", description="sent as X-Pinecone-Api-Version")
    index: str = Field(
        "social-vectors", pattern=r"^[a-z0-9-]{1,45}$", description="the index name"
    )


class PineconeProbe(VendorProbe):
    kind = "pinecone"
    Options = PineconeOptions

    def configured_values(self) -> dict[str, Any]:
        return {"index": self.options.index}

    def measure(self, key: str | None, deadline: Deadline) -> Reading:
        options: PineconeOptions = self.options
        headers = {"Api-Key": key or "", "X-Pinecone-Api-Version": options.api_version}
        described, latency = self.describe_index(headers, deadline)

        host = described.get("host")
        state = index_state(described)
        not_ready = None if state == "Ready" else f"index {options.index} is {state}"
        if not isinstance(host, str) or not host:
            # Without a host there is nothing to measure; a new index may lack one.
            return Reading(
                latency, problems=[not_ready or "answer lacks the index host"]
            )

        try:
            reading = self.read_stats(host, headers, deadline)
        except Broken:
            if not_ready is None:
                raise
            # A data plane that fails while the index is not ready is the state's fault.
            return Reading(latency, problems=[not_ready])
        if not_ready:
            reading.problems.insert(0, not_ready)
        return reading

    def describe_index(
        self, headers: dict[str, str], deadline: Deadline
    ) -> tuple[dict[str, Any], int]:
        """The control plane's description of the index, and the call's latency."""
        index = self.options.index
        url = f"{self.base_url()}/indexes/{quote(index, safe='')}"
        try:
            answer = self.request("GET", url, deadline, headers=headers)
        except Broken as error:
            if error.status == 404:
                raise Broken(f"index {index} not found", error.latency_ms) from None
            raise
        document = self.read_json(answer)
        if not isinstance(document, dict):
            raise Broken("index description is not a JSON object", answer.latency_ms)
        return document, answer.latency_ms

    def read_stats(
        self, host: str, headers: dict[str, str], deadline: Deadline
    ) -> Reading:
        url = f"{self.data_plane(host)}/describe_index_stats"
        answer = self.request("POST", url, deadline, headers=headers, json_body={})
        document = self.read_json(answer)

        reading = Reading(answer.latency_ms)
        total = vector_count(document)
        if total is None:
            reading.problems.append("answer lacks the vector count")
        else:
            reading.values["total_vectors"] = total
        return reading

    def data_plane(self, host: str) -> str:
        if host.startswith(("http://", "https://")):
            return host.rstrip("/")
        return f"{urlsplit(self.base_url()).scheme}://{host}"

    def error_code(self, answer: Answer) -> str | None:
        # The control plane nests its code in `error`; the data plane does not.
        code = error_object(answer).get("code")
        if code is None:
            code = data_plane_code(answer)
        if isinstance(code, int):
            code = GRPC_CODES.get(code, code)
        return safe_code(code)


def data_plane_code(answer: Answer) -> Any:
    try:
        document = answer.json()
    except BadAnswer:
        return None
    return document.get("code") if isinstance(document, dict) else None


def index_state(described: dict[str, Any]) -> str:
    """`Ready`, another state name, or what `ready` says when there is no state."""
    status = described.get("status")
    if not isinstance(status, dict):
        return "of unknown state"
    state = status.get("state")
    if isinstance(state, str) and state:
        return state
    return "Ready" if status.get("ready") is True else "not ready"


def vector_count(document: Any) -> int | None:
    if not isinstance(document, dict):
        return None
    for name in ("totalVectorCount", "total_vector_count"):
        value = document.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None
