"""Imitate Groq's OpenAI-compatible model list: `GET /openai/v1/models`."""

from __future__ import annotations

import secrets
from typing import Any

from statusd.imitations.base import Imitation, RecordedRequest, Reply, bearer_token

PATH = "/openai/v1/models"

DEFAULT_MODELS = ("llama-3.1-70b", "llama-3.3-70b-versatile", "mixtral-8x7b-32768")

# Fixed so that answers compare equal between runs.
CREATED = 1_693_721_698


def describe_model(model_id: str) -> dict[str, Any]:
    """Return one entry of the model list, owner and context guessed from the id."""
    if model_id.startswith("llama"):
        owner, context = "Meta", 131_072
    elif model_id.startswith("mixtral"):
        owner, context = "Mistral AI", 32_768
    else:
        owner, context = "Groq", 8_192
    return {
        "id": model_id,
        "object": "model",
        "created": CREATED,
        "owned_by": owner,
        "active": True,
        "context_window": context,
    }


class GroqImitation(Imitation):
    """Answer the model list like api.groq.com, with its x-ratelimit-* headers."""

    name = "groq"

    def __init__(self, secret: str, *, port: int = 0) -> None:
        super().__init__(secret, port=port)
        self.models: list[str] = list(DEFAULT_MODELS)
        self.retry_after = 30
        self.daily_request_limit = 14_400
        self.minute_token_limit = 6_000

    def knows(self, request: RecordedRequest) -> bool:
        return request.method == "GET" and request.path == PATH

    def credential(self, request: RecordedRequest) -> str | None:
        return bearer_token(request)

    def healthy(self, request: RecordedRequest) -> Reply:
        body = {"object": "list", "data": [describe_model(m) for m in self.models]}
        remaining = max(0, self.daily_request_limit - self.calls(PATH))
        return self.reply_json(200, body, self._rate_headers(remaining))

    def rejected(self, request: RecordedRequest) -> Reply:
        return self._error(
            401, "Invalid API Key", "invalid_request_error", "invalid_api_key"
        )

    def rate_limited(self, request: RecordedRequest) -> Reply:
        limit = self.daily_request_limit
        model = self.models[0] if self.models else DEFAULT_MODELS[0]
        message = (
            f"Rate limit reached for model `{model}` "
            f"in organization `org_statusd` on requests per day (RPD): Limit {limit}, "
            f"Used {limit}, Requested 1. Please try again in {self.retry_after}s."
        )
        headers = self._rate_headers(0) | {"retry-after": str(self.retry_after)}
        return self._error(429, message, "requests", "rate_limit_exceeded", headers)

    def server_error(self, request: RecordedRequest) -> Reply:
        message = "Service Unavailable: the service is over capacity, try again later."
        return self._error(503, message, "internal_server_error", "service_unavailable")

    def not_found(self, request: RecordedRequest) -> Reply:
        message = (
            f"Unknown request URL: {request.method} {request.path}. Please check the "
            "URL for typos, or see the docs at https://console.groq.com/docs/"
        )
        return self._error(404, message, "invalid_request_error", "unknown_url")

    def _error(
        self,
        status: int,
        message: str,
        error_type: str,
        code: str,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        body = {"error": {"message": message, "type": error_type, "code": code}}
        return self.reply_json(
            status, body, {"x-request-id": _request_id(), **(headers or {})}
        )

    def _rate_headers(self, remaining_requests: int) -> dict[str, str]:
        """Build the request (per day) and token (per minute) limit headers."""
        return {
            "x-request-id": _request_id(),
            "x-ratelimit-limit-requests": str(self.daily_request_limit),
            "x-ratelimit-remaining-requests": str(remaining_requests),
            "x-ratelimit-reset-requests": "2m59.56s",
            "x-ratelimit-limit-tokens": str(self.minute_token_limit),
            "x-ratelimit-remaining-tokens": str(self.minute_token_limit),
            "x-ratelimit-reset-tokens": "7.66s",
        }


def _request_id() -> str:
    return f"req_{secrets.token_hex(13)}"
