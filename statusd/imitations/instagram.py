"""Imitate the Meta Graph API read an Instagram probe makes: `GET /{version}/me`."""

from __future__ import annotations

import json
import re
import secrets
import string
from typing import Any

from statusd.imitations.base import Imitation, RecordedRequest, Reply, bearer_token

# Any Graph version, like v25.0; the node is `me` or the configured user id.
PATH = re.compile(r"^/(?P<version>v\d+\.\d+)/(?P<node>me|\d+)$")

FIELDS = ("id", "username")

USAGE_KEYS = ("call_count", "total_time", "total_cputime")


def fbtrace_id() -> str:
    """Return a trace id shaped like Graph's, different on every answer."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(11))


def _compact(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"))


class InstagramImitation(Imitation):
    """Answer `/{version}/me` like graph.facebook.com, usage headers included."""

    name = "instagram"
    content_type = "application/json; charset=UTF-8"

    def __init__(self, secret: str, *, port: int = 0) -> None:
        super().__init__(secret, port=port)
        self.user_id = "17841400000000001"
        self.username = "statusd.demo"
        # Percentages as Graph reports them; None leaves the usage headers out, as
        # Graph does until an app has made enough calls.
        self.usage: dict[str, int] | None = {
            "call_count": 12,
            "total_time": 4,
            "total_cputime": 3,
        }
        self.regain_minutes = 2

    def knows(self, request: RecordedRequest) -> bool:
        return request.method == "GET" and PATH.match(request.path) is not None

    def credential(self, request: RecordedRequest) -> str | None:
        return bearer_token(request) or request.params.get("access_token")

    def healthy(self, request: RecordedRequest) -> Reply:
        match = PATH.match(request.path)
        if match is None:
            return self.not_found(request)
        version, node = match.group("version", "node")
        if node not in ("me", self.user_id):
            return self._missing_object(node)

        wanted = [name for name in request.params.get("fields", "").split(",") if name]
        unknown = [name for name in wanted if name not in FIELDS]
        if unknown:
            return self._unknown_field(unknown[0])

        values = {"id": self.user_id, "username": self.username}
        # Graph always returns the id, whatever fields were asked for.
        body = {name: values[name] for name in wanted or FIELDS} | {"id": self.user_id}
        headers = {"x-fb-trace-id": fbtrace_id(), "facebook-api-version": version}
        return self.reply_json(200, body, headers | self._headers(self.usage, 0))

    def rejected(self, request: RecordedRequest) -> Reply:
        message = (
            "Error validating access token: Session has expired on Monday, 01-Jun-26 "
            "10:00:00 PDT. The current time is Tuesday, 02-Jun-26 09:00:00 PDT."
        )
        headers = {
            "WWW-Authenticate": f'OAuth "Facebook Platform" "invalid_token" "{message}"'
        }
        return self._error(400, message, 190, headers, error_subcode=463)

    def rate_limited(self, request: RecordedRequest) -> Reply:
        full = dict.fromkeys(USAGE_KEYS, 100)
        headers = self._headers(full, self.regain_minutes)
        message = "(#4) Application request limit reached"
        return self._error(403, message, 4, headers, is_transient=True)

    def server_error(self, request: RecordedRequest) -> Reply:
        message = "(#2) Service temporarily unavailable"
        return self._error(
            500, message, 2, self._headers(self.usage, 0), is_transient=True
        )

    def not_found(self, request: RecordedRequest) -> Reply:
        message = f"Unknown path components: {request.path}"
        return self._error(404, message, 2500, {})

    def _missing_object(self, node: str) -> Reply:
        message = (
            f"Unsupported get request. Object with ID '{node}' does not exist, cannot "
            "be loaded due to missing permissions, or does not support this operation."
        )
        headers = self._headers(self.usage, 0)
        return self._error(
            400, message, 100, headers, error_subcode=33, type="GraphMethodException"
        )

    def _unknown_field(self, name: str) -> Reply:
        message = (
            f"(#100) Tried accessing nonexisting field ({name}) on node type (User)"
        )
        return self._error(400, message, 100, self._headers(self.usage, 0))

    def _error(
        self,
        status: int,
        message: str,
        code: int,
        headers: dict[str, str],
        **extra: Any,
    ) -> Reply:
        """Build Graph's error body: message, type, code, extras, then fbtrace_id."""
        trace = fbtrace_id()
        error = {"message": message, "type": "OAuthException", "code": code}
        error |= extra
        error["fbtrace_id"] = trace
        return self.reply_json(
            status, {"error": error}, {"x-fb-trace-id": trace, **headers}
        )

    def _headers(
        self, usage: dict[str, int] | None, regain_minutes: int
    ) -> dict[str, str]:
        """Build X-App-Usage and X-Business-Use-Case-Usage, or nothing when unknown."""
        if usage is None:
            return {}
        numbers = {key: usage.get(key, 0) for key in USAGE_KEYS}
        entry = {
            "type": "instagram",
            **numbers,
            "estimated_time_to_regain_access": regain_minutes,
        }
        return {
            "X-App-Usage": _compact(numbers),
            "X-Business-Use-Case-Usage": _compact({self.user_id: [entry]}),
        }
