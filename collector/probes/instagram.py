"""`instagram`: the Graph API's cheapest authenticated read, and its usage headers.

Calls `GET {base_url}/{api_version}/{node}?fields=id` (default `/v25.0/me`) with
the token in an `Authorization: Bearer` header, never in the URL. It reads no media
and writes nothing. Each check is one Graph call, counted against the app's hourly
rate limits like any other: at the default interval (300 s) that is 12 calls an
hour, 288 a day.

`rate_limit_remaining_pct` is 100 minus the highest percentage found in any entry
of any usage header present (`X-App-Usage`, `X-Business-Use-Case-Usage`,
`X-Ad-Account-Usage`). Graph sends them only once an app has made enough calls:
without them the value is not measured (the widget shows "N/A"), never 100%.
Errors are told apart by Graph's `error.code`, not by the HTTP status, which
varies between 400 and 403 for the same error.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field

from collector.http import Answer
from collector.probes.base import Deadline
from collector.probes.vendor import (
    Broken,
    RateLimited,
    Reading,
    Refused,
    VendorOptions,
    VendorProbe,
    describe,
    error_object,
    usage_problem,
)

USAGE_HEADERS = ("X-App-Usage", "X-Business-Use-Case-Usage", "X-Ad-Account-Usage")

# The entries of usage headers that are percentages of a limit; the others are
# times, tiers or types.
PERCENT_KEYS = frozenset(
    {"call_count", "total_time", "total_cputime", "acc_id_util_pct"}
)

REGAIN = frozenset({"estimated_time_to_regain_access"})

REJECTED_CODES = frozenset({102, 190})
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80002})
TRANSIENT_CODES = frozenset({1, 2})


class InstagramOptions(VendorOptions):
    api_key_env: str = Field(
        "INSTAGRAM_ACCESS_TOKEN", description="variable holding the access token"
    )
    base_url: str = "https://graph.facebook.com"
    api_version: str = Field("v25.0", pattern=r"^v\d+\.\d+$")
    node: str = Field(
        "me", pattern=r"^(me|\d+)$", description="`me` or the Instagram user id"
    )
    usage_threshold_pct: float = Field(
        80, gt=0, le=100, description="usage above this share is degraded"
    )


class InstagramProbe(VendorProbe):
    kind = "instagram"
    Options = InstagramOptions

    def measure(self, key: str | None, deadline: Deadline) -> Reading:
        options: InstagramOptions = self.options
        url = f"{self.base_url()}/{options.api_version}/{options.node}?fields=id"
        answer = self.request(
            "GET", url, deadline, headers={"Authorization": f"Bearer {key}"}
        )
        document = self.read_json(answer)

        reading = Reading(answer.latency_ms)
        if not isinstance(document, dict) or "id" not in document:
            reading.problems.append("answer lacks the account id")
        self.read_usage(answer, reading)
        return reading

    def read_usage(self, answer: Answer, reading: Reading) -> None:
        highest, unreadable = highest_usage(answer)
        reading.problems += [f"unreadable {name} header" for name in unreadable]
        if highest is None:
            return
        reading.values["rate_limit_remaining_pct"] = max(0.0, 100.0 - highest)
        problem = usage_problem(
            highest, self.options.usage_threshold_pct, "Graph rate limit"
        )
        if problem:
            reading.problems.append(problem)

    def transient(self, answer: Answer) -> bool:
        return answer.status >= 500 or graph_code(answer) in TRANSIENT_CODES

    def classify(self, answer: Answer) -> None:
        if 200 <= answer.status < 300:
            return
        code = graph_code(answer)
        detail = describe(answer.status, self.error_code(answer))
        latency = answer.latency_ms
        if code in RATE_LIMIT_CODES or answer.status == 429:
            wait = regain_minutes(answer)
            seconds = wait * 60 if wait else None
            raise RateLimited(f"rate limited ({detail})", seconds, latency)
        if code in REJECTED_CODES or answer.status in (401, 403):
            raise Refused(f"credential rejected ({detail})", latency)
        raise Broken(detail, latency)

    def error_code(self, answer: Answer) -> str | None:
        code = graph_code(answer)
        return None if code is None else f"Graph error {code}"


def graph_code(answer: Answer) -> int | None:
    """Graph's `error.code`, the only reliable way to tell its errors apart."""
    code = error_object(answer).get("code")
    return code if is_number(code) and isinstance(code, int) else None


def usage_documents(answer: Answer) -> tuple[list[Any], list[str]]:
    """The parsed usage headers present, and the names of those that did not parse."""
    documents, unreadable = [], []
    for name in USAGE_HEADERS:
        text = answer.headers.get(name)
        if text is None:
            continue
        try:
            documents.append(json.loads(text))
        except ValueError:
            unreadable.append(name)
    return documents, unreadable


def highest_usage(answer: Answer) -> tuple[float | None, list[str]]:
    """The highest percentage in any entry of any usage header; None without one."""
    documents, unreadable = usage_documents(answer)
    shares = [
        share
        for document in documents
        for share in numbers_under(document, PERCENT_KEYS)
    ]
    return (max(shares) if shares else None), unreadable


def numbers_under(node: Any, names: frozenset[str]) -> list[float]:
    """Every number held under one of `names`, at any depth of objects and lists."""
    if isinstance(node, list):
        return [number for item in node for number in numbers_under(item, names)]
    if not isinstance(node, dict):
        return []
    found = []
    for name, value in node.items():
        if name in names and is_number(value):
            found.append(float(value))
        elif isinstance(value, dict | list):
            found += numbers_under(value, names)
    return found


def regain_minutes(answer: Answer) -> float | None:
    """The longest `estimated_time_to_regain_access` in the usage headers, minutes."""
    documents, _ = usage_documents(answer)
    waits = [wait for document in documents for wait in numbers_under(document, REGAIN)]
    return max(waits, default=None)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
