"""`http`: any HTTP endpoint; its status code, its latency, optionally values from its JSON.

`${VAR}` in the URL, a header or the body is filled from the environment at each
probe, and the value is treated as a secret (scrubbed from every reason and log).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator

from collector.http import Answer, BadAnswer, TransportError, fetch, new_session
from collector.probes.base import (
    SCALAR,
    Deadline,
    Probe,
    ProbeContext,
    dig,
    http_url,
    slow,
)
from shared.config import ServiceConfig, Strict
from shared.fields import MEASUREMENTS
from shared.model import ProbeResult

PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class HttpOptions(Strict):
    url: str = Field(description="may hold ${VAR} placeholders")
    method: Literal["GET", "HEAD", "POST", "PUT", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(
        default_factory=dict, description="values may hold ${VAR}"
    )
    body: dict[str, Any] | list[Any] | None = Field(None, description="sent as JSON")
    expect_status: list[int] = Field(default_factory=lambda: [200])
    degraded_ms: int = Field(1000, gt=0, description="slower than this is degraded")
    extract: dict[str, str] = Field(
        default_factory=dict,
        description="measurement -> dotted path in the JSON answer",
    )
    verify_tls: bool = True

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        # A URL that is all placeholder is only known at each check.
        return url if url.startswith("${") else http_url(url)

    @field_validator("expect_status", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, int) else value

    @field_validator("extract")
    @classmethod
    def _known_measurements(cls, extract: dict[str, str]) -> dict[str, str]:
        unknown = sorted(
            (set(extract) - set(MEASUREMENTS)) | ({"latency_ms"} & set(extract))
        )
        if unknown:
            known = ", ".join(name for name in MEASUREMENTS if name != "latency_ms")
            raise ValueError(f"unknown measurement {unknown[0]!r} (known: {known})")
        return extract


class HttpProbe(Probe):
    kind = "http"
    Options = HttpOptions

    def __init__(self, service: ServiceConfig, context: ProbeContext):
        super().__init__(service, context)
        self.session = new_session()

    def check(self, deadline: Deadline) -> ProbeResult:
        options: HttpOptions = self.options
        url = self.expand(options.url)
        headers = {name: self.expand(value) for name, value in options.headers.items()}
        body = self.expand_json(options.body)

        try:
            answer = fetch(
                self.session,
                options.method,
                url,
                timeout=deadline.remaining(),
                headers=headers,
                json_body=body,
                verify=options.verify_tls,
            )
        except TransportError as error:
            return ProbeResult.down(str(error))
        return self.judge(answer)

    def judge(self, answer: Answer) -> ProbeResult:
        options: HttpOptions = self.options
        latency = answer.latency_ms
        if answer.status not in options.expect_status:
            return unexpected_status(answer.status, options.expect_status, latency)

        values: dict[str, Any] = {}
        if options.extract:
            try:
                document = answer.json()
            except BadAnswer as error:
                return ProbeResult.down(str(error), latency)
            values, problem = extract_values(document, options.extract)
            if problem:
                return ProbeResult.degraded(problem, latency, **values)

        if latency > options.degraded_ms:
            return ProbeResult.degraded(
                slow(latency, options.degraded_ms), latency, **values
            )
        return ProbeResult.operational(latency, **values)

    def expand(self, template: str) -> str:
        return PLACEHOLDER.sub(lambda match: self.context.secret(match[1]), template)

    def expand_json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.expand(value)
        if isinstance(value, list):
            return [self.expand_json(item) for item in value]
        if isinstance(value, dict):
            return {key: self.expand_json(item) for key, item in value.items()}
        return value

    def close(self) -> None:
        self.session.close()


def unexpected_status(status: int, expected: list[int], latency_ms: int) -> ProbeResult:
    if status == 429:
        return ProbeResult.degraded("rate limited (HTTP 429)", latency_ms)
    if status in (401, 403):
        return ProbeResult.down(f"credential rejected (HTTP {status})", latency_ms)
    wanted = ", ".join(str(code) for code in expected)
    return ProbeResult.down(f"HTTP {status} (expected {wanted})", latency_ms)


def extract_values(
    document: Any, paths: dict[str, str]
) -> tuple[dict[str, Any], str | None]:
    """Read each measurement at its dotted path; describe the first path that fails."""
    values: dict[str, Any] = {}
    problem = None
    for name, path in paths.items():
        found, value = dig(document, path)
        if found and isinstance(value, SCALAR):
            values[name] = value
        elif problem is None:
            problem = (
                f"field {path} is not a single value"
                if found
                else f"answer lacks {path}"
            )
    return values, problem
