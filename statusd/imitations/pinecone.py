"""Imitate Pinecone's control and data planes on one server.

Control plane: `GET /indexes/{name}`; data plane: `POST /describe_index_stats`. The two
planes word their errors differently, as the real ones do: the control plane
answers `{"error": {"code": "UNAUTHENTICATED", ...}, "status": 401}`, the data plane
answers gRPC-style `{"code": 16, "message": ..., "details": []}`.
"""

from __future__ import annotations

import re
from typing import Any

from statusd.imitations.base import Imitation, RecordedRequest, Reply

INDEX_PATH = re.compile(r"^/indexes/(?P<name>[^/]+)$")

STATS_PATH = "/describe_index_stats"

# The oldest version Pinecone still serves, used when a call names none.
OLDEST_API_VERSION = "2024-07"

# gRPC status codes the data plane puts in its `code` field.
GRPC_RESOURCE_EXHAUSTED = 8
GRPC_UNAVAILABLE = 14
GRPC_UNAUTHENTICATED = 16


class PineconeImitation(Imitation):
    """Answer index description and index stats like Pinecone, for one index."""

    name = "pinecone"

    def __init__(self, secret: str, *, port: int = 0) -> None:
        super().__init__(secret, port=port)
        self.index_name = "social-vectors"
        self.state = "Ready"
        self.total_vectors = 12_847
        self.dimension = 1024

    def knows(self, request: RecordedRequest) -> bool:
        if request.method == "GET":
            return INDEX_PATH.match(request.path) is not None
        return request.method == "POST" and request.path == STATS_PATH

    def credential(self, request: RecordedRequest) -> str | None:
        return request.header("api-key")

    def healthy(self, request: RecordedRequest) -> Reply:
        if request.path == STATS_PATH:
            return self._json(request, 200, self._stats())

        match = INDEX_PATH.match(request.path)
        if match is None or match["name"] != self.index_name:
            return self.not_found(request)
        return self._json(request, 200, self._description())

    def rejected(self, request: RecordedRequest) -> Reply:
        return self._error(
            request, 401, "UNAUTHENTICATED", GRPC_UNAUTHENTICATED, "Invalid API Key"
        )

    def rate_limited(self, request: RecordedRequest) -> Reply:
        # Pinecone documents no rate headers and no Retry-After: none are sent.
        message = (
            "Request failed. You've reached the max read units per second limit (2000) "
            f"for index {self.index_name}. Try again later."
        )
        return self._error(
            request, 429, "RESOURCE_EXHAUSTED", GRPC_RESOURCE_EXHAUSTED, message
        )

    def server_error(self, request: RecordedRequest) -> Reply:
        message = "Service is temporarily unavailable. Please try again later."
        return self._error(request, 503, "UNAVAILABLE", GRPC_UNAVAILABLE, message)

    def not_found(self, request: RecordedRequest) -> Reply:
        match = INDEX_PATH.match(request.path)
        what = f"Resource {match['name']}" if match else f"Path {request.path}"
        body = {
            "error": {"code": "NOT_FOUND", "message": f"{what} not found"},
            "status": 404,
        }
        return self._json(request, 404, body)

    def _description(self) -> dict[str, Any]:
        return {
            "name": self.index_name,
            "dimension": self.dimension,
            "metric": "cosine",
            # Without a scheme, as Pinecone gives it; this server is plain http.
            "host": self.host,
            "spec": {"serverless": {"cloud": "aws", "region": "us-east-1"}},
            "status": {"ready": self.state == "Ready", "state": self.state},
            "deletion_protection": "disabled",
            "vector_type": "dense",
        }

    def _stats(self) -> dict[str, Any]:
        profiles = self.total_vectors // 3
        return {
            "namespaces": {
                "posts": {"vectorCount": self.total_vectors - profiles},
                "profiles": {"vectorCount": profiles},
            },
            "dimension": self.dimension,
            "indexFullness": 0.0,
            "totalVectorCount": self.total_vectors,
            "metric": "cosine",
            "vectorType": "dense",
        }

    def _error(
        self, request: RecordedRequest, status: int, name: str, grpc: int, message: str
    ) -> Reply:
        """Word an error the way the plane the call went to does."""
        if request.path == STATS_PATH:
            body: dict[str, Any] = {"code": grpc, "message": message, "details": []}
        else:
            body = {"error": {"code": name, "message": message}, "status": status}
        return self._json(request, status, body)

    def _json(self, request: RecordedRequest, status: int, body: Any) -> Reply:
        version = request.header("x-pinecone-api-version") or OLDEST_API_VERSION
        return self.reply_json(status, body, {"x-pinecone-api-version": version})
