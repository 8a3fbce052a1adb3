"""Imitate the Generative Language API model list: `GET /v1beta/models`."""

from __future__ import annotations

import re
from typing import Any

from statusd.imitations.base import Imitation, RecordedRequest, Reply

PATH = re.compile(r"^/v1(beta)?/models$")

DEFAULT_MODELS = ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash")

SERVICE = "generativelanguage.googleapis.com"

RPC_TYPE = "type.googleapis.com/google.rpc."


def describe_model(model_id: str) -> dict[str, Any]:
    """Return one entry of the model list, its display name built from the id."""
    display = " ".join(part.capitalize() for part in model_id.split("-"))
    return {
        "name": f"models/{model_id}",
        "version": "001",
        "displayName": display,
        "description": f"{display}, imitated locally for statusd tests.",
        "inputTokenLimit": 1_048_576,
        "outputTokenLimit": 65_536,
        "supportedGenerationMethods": ["generateContent", "countTokens"],
    }


class GeminiImitation(Imitation):
    """Answer the model list like generativelanguage.googleapis.com."""

    name = "gemini"
    content_type = "application/json; charset=UTF-8"

    def __init__(self, secret: str, *, port: int = 0) -> None:
        super().__init__(secret, port=port)
        self.models: list[str] = list(DEFAULT_MODELS)
        self.retry_delay = 47

    def knows(self, request: RecordedRequest) -> bool:
        return request.method == "GET" and PATH.match(request.path) is not None

    def credential(self, request: RecordedRequest) -> str | None:
        # The real API takes ?key= too; probes must not use it, tests check they don't.
        return request.header("x-goog-api-key") or request.params.get("key")

    def healthy(self, request: RecordedRequest) -> Reply:
        return self.reply_json(
            200, {"models": [describe_model(m) for m in self.models]}
        )

    def rejected(self, request: RecordedRequest) -> Reply:
        message = "API key not valid. Please pass a valid API key."
        details: list[dict[str, Any]] = [
            {
                "@type": RPC_TYPE + "ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": SERVICE},
            },
            {
                "@type": RPC_TYPE + "LocalizedMessage",
                "locale": "en-US",
                "message": message,
            },
        ]
        return self._error(400, "INVALID_ARGUMENT", message, details)

    def rate_limited(self, request: RecordedRequest) -> Reply:
        message = (
            "You exceeded your current quota, please check your plan and billing "
            f"details. Please retry in {self.retry_delay}s."
        )
        details: list[dict[str, Any]] = [
            {
                "@type": RPC_TYPE + "QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": f"{SERVICE}/generate_content_requests",
                        "quotaId": "GenerateRequestsPerMinutePerProjectPerModel",
                    }
                ],
            },
            # Google sends the delay only here: no Retry-After header.
            {"@type": RPC_TYPE + "RetryInfo", "retryDelay": f"{self.retry_delay}s"},
        ]
        return self._error(429, "RESOURCE_EXHAUSTED", message, details)

    def server_error(self, request: RecordedRequest) -> Reply:
        message = "The model is overloaded. Please try again later."
        return self._error(503, "UNAVAILABLE", message)

    def not_found(self, request: RecordedRequest) -> Reply:
        message = f"Method not found: {request.method} {request.path}"
        return self._error(404, "NOT_FOUND", message)

    def _error(
        self,
        code: int,
        status: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
    ) -> Reply:
        """Build a google.rpc.Status body; `details` is left out when there are none."""
        error: dict[str, Any] = {"code": code, "message": message, "status": status}
        if details:
            error["details"] = details
        return self.reply_json(code, {"error": error})
