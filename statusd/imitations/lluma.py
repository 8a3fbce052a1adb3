"""Imitate Lluma AI, an undocumented JSON API: `GET /v1/status`.

Nothing public describes Lluma, so the path, the auth header and the model version
are attributes: tests change them to check that a probe reads its configuration.
"""

from __future__ import annotations

from statusd.imitations.base import Imitation, RecordedRequest, Reply

# What an nginx in front of the service says when the service behind it is down.
BAD_GATEWAY_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


class LlumaImitation(Imitation):
    """Answer a status call with the model name and version behind the API."""

    name = "lluma"

    def __init__(self, secret: str, *, port: int = 0) -> None:
        super().__init__(secret, port=port)
        self.auth_header = "X-Lluma-Key"
        self.status_path = "/v1/status"
        self.model_name = "lluma-large"
        self.model_version = "v2.3.1"
        self.retry_after = 20

    def knows(self, request: RecordedRequest) -> bool:
        return request.method == "GET" and request.path == self.status_path

    def credential(self, request: RecordedRequest) -> str | None:
        return request.header(self.auth_header)

    def healthy(self, request: RecordedRequest) -> Reply:
        model = {"name": self.model_name, "version": self.model_version}
        return self.reply_json(200, {"status": "ok", "model": model})

    def rejected(self, request: RecordedRequest) -> Reply:
        return self.reply_json(401, {"error": "unauthorized"})

    def rate_limited(self, request: RecordedRequest) -> Reply:
        headers = {"Retry-After": str(self.retry_after)}
        return self.reply_json(429, {"error": "rate limited"}, headers)

    def server_error(self, request: RecordedRequest) -> Reply:
        return Reply(502, BAD_GATEWAY_HTML, {"Content-Type": "text/html"})

    def not_found(self, request: RecordedRequest) -> Reply:
        return self.reply_json(404, {"error": "not found"})
