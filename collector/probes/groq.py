"""`groq`: Groq's model list, which proves the key and that our model is still offered.

Calls `GET {base_url}/{api_version}/models` (default
`https://api.groq.com/openai/v1/models`) with `Authorization: Bearer <key>`. It
generates nothing, so it uses no tokens. Whether Groq counts it against the
app's requests-per-day limit is not documented; in case it does, the default
interval (120 s) keeps it to 720 calls a day, a few percent of a daily limit in
the thousands (the answer's `x-ratelimit-limit-requests` says which).

`model` is the configured model. It reads `degraded` when the list does not
offer it, or offers it as inactive. When the answer carries Groq's
`x-ratelimit-*-requests` headers, the share of the daily requests left is stored
too (not shown by the widget) and usage above the threshold is `degraded`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from collector.http import Answer
from collector.probes.base import Deadline
from collector.probes.vendor import (
    RateLimited,
    Reading,
    VendorOptions,
    VendorProbe,
    describe,
    error_object,
    parse_duration,
    retry_after,
    safe_code,
    usage_problem,
)


class GroqOptions(VendorOptions):
    api_key_env: str = Field("GROQ_API_KEY", description="variable holding the key")
    base_url: str = "https://api.groq.com/openai"
    api_version: str = "v1"
    model: str = Field(
        "llama-3.1-70b", min_length=1, description="the model the app uses"
    )
    usage_threshold_pct: float = Field(
        80, gt=0, le=100, description="daily requests used above this is degraded"
    )


class GroqProbe(VendorProbe):
    kind = "groq"
    Options = GroqOptions

    def configured_values(self) -> dict[str, Any]:
        return {"model": self.options.model}

    def measure(self, key: str | None, deadline: Deadline) -> Reading:
        options: GroqOptions = self.options
        url = f"{self.base_url()}/{options.api_version}/models"
        answer = self.request(
            "GET", url, deadline, headers={"Authorization": f"Bearer {key}"}
        )
        document = self.read_json(answer)

        reading = Reading(answer.latency_ms)
        models = offered_models(document)
        if models is None:
            reading.problems.append("answer lacks the model list")
        elif options.model not in models:
            reading.problems.append(f"model {options.model} is not offered by Groq")
        elif models[options.model].get("active") is False:
            reading.problems.append(f"model {options.model} is inactive at Groq")
        self.read_limits(answer, reading)
        return reading

    def read_limits(self, answer: Answer, reading: Reading) -> None:
        used = requests_used_pct(answer)
        if used is None:
            return
        reading.values["rate_limit_remaining_pct"] = round(100.0 - used, 1)
        problem = usage_problem(
            used, self.options.usage_threshold_pct, "daily request limit"
        )
        if problem:
            reading.problems.append(problem)

    def classify(self, answer: Answer) -> None:
        # 498: the flex tier is out of capacity. Calling again soon cannot help,
        # so it is handled like a rate limit.
        if answer.status in (429, 498):
            wait = retry_after(answer.headers)
            if wait is None:
                wait = parse_duration(answer.headers.get("x-ratelimit-reset-requests"))
            detail = describe(answer.status, self.error_code(answer))
            raise RateLimited(f"rate limited ({detail})", wait, answer.latency_ms)
        super().classify(answer)

    def error_code(self, answer: Answer) -> str | None:
        return safe_code(error_object(answer).get("code"))


def offered_models(document: Any) -> dict[str, dict[str, Any]] | None:
    """The models in the list by id; None when the answer holds no list."""
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, list):
        return None
    return {
        entry["id"]: entry
        for entry in data
        if isinstance(entry, dict) and isinstance(entry.get("id"), str)
    }


def requests_used_pct(answer: Answer) -> float | None:
    """The share of the daily request limit used, from the rate headers if any."""
    try:
        limit = float(answer.headers["x-ratelimit-limit-requests"])
        remaining = float(answer.headers["x-ratelimit-remaining-requests"])
    except (KeyError, ValueError):
        return None
    if limit <= 0:
        return None
    return max(0.0, min(100.0, 100.0 * (limit - remaining) / limit))
