"""Serve a local stand-in for a vendor API on loopback, in a failure mode tests choose.

An `Imitation` is a threaded stdlib HTTP server. Every vendor call is recorded, then
answered according to the `Mode` current when it arrived:

1. mode `hang`: no answer at all until `stop()` or `hang_seconds`;
2. a wait of `base_latency` seconds, plus `latency` in mode `slow`;
3. a path the vendor does not serve: the vendor's 404;
4. a wrong or missing credential, or mode `rejected`: the vendor's credential error;
5. otherwise the answer of the mode (healthy, slow, rate limited, 5xx, garbage).

Paths under `/_imitation/` are a control endpoint that needs no credential and is not
recorded, so other processes can switch the mode over HTTP.
"""

from __future__ import annotations

import abc
import enum
import json
import logging
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger(__name__)

CONTROL_PREFIX = "/_imitation/"

GARBAGE_HTML = (
    b"<!DOCTYPE html>\n<html><head><title>Error 502 (Server Error)</title></head>"
    b"<body><h1>502.</h1><p>The server encountered a temporary error.</p>"
    b"</body></html>\n"
)


class Mode(enum.StrEnum):
    """Name the ways an imitation can answer its vendor endpoints."""

    HEALTHY = "healthy"
    SLOW = "slow"
    RATE_LIMITED = "rate_limited"
    REJECTED = "rejected"
    SERVER_ERROR = "server_error"
    HANG = "hang"
    GARBAGE = "garbage"


def parse_mode(value: str | Mode) -> Mode:
    """Return the Mode named by `value`; raise ValueError naming the valid ones."""
    try:
        return Mode(value)
    except ValueError:
        choices = ", ".join(mode.value for mode in Mode)
        raise ValueError(f"unknown mode {value!r}; expected one of {choices}") from None


@dataclass(frozen=True)
class RecordedRequest:
    """Hold what one vendor call carried; header names are lower-cased."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes = b""

    @property
    def target(self) -> str:
        """Return the path with its query string, as it appeared in the URL."""
        return f"{self.path}?{self.query}" if self.query else self.path

    @property
    def params(self) -> dict[str, str]:
        """Return the query parameters, first value of each."""
        parsed = parse_qs(self.query, keep_blank_values=True)
        return {name: values[0] for name, values in parsed.items()}

    def header(self, name: str) -> str | None:
        """Return one header by case-insensitive name, or None."""
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """Decode the body as JSON; raise ValueError when it is not."""
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    """Hold one answer before it is written to the socket."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def bearer_token(request: RecordedRequest) -> str | None:
    """Return the token of an `Authorization: Bearer` header, or None."""
    scheme, _, token = (request.header("authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


class Imitation(abc.ABC):
    """Answer like one vendor API on a loopback port, in a mode that tests switch."""

    name = "imitation"
    content_type = "application/json"
    # A hung call is released by stop(); the cap keeps a forgotten server from
    # holding sockets for the life of the test process.
    hang_seconds = 120.0

    def __init__(self, secret: str, *, port: int = 0) -> None:
        self.secret = secret
        self.latency = 1.5
        self.base_latency = 0.0
        self.garbage_style = "html"
        self._port = port
        self._address: tuple[str, int] | None = None
        self._mode = Mode.HEALTHY
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> Self:
        """Bind 127.0.0.1 and serve from a daemon thread."""
        if self._server is not None:
            raise RuntimeError(f"{self.name} imitation is already running")
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", self._port), self)
        self._address = self._server.server_address[:2]  # type: ignore[assignment]

        self._thread = threading.Thread(
            target=self._accept, args=(self._server,), name=f"imitation-{self.name}"
        )
        self._thread.daemon = True
        self._thread.start()
        logger.debug("imitation %s: listening url=%s", self.name, self.url)
        return self

    def stop(self) -> None:
        """Stop serving; return promptly even while calls hang."""
        server, self._server = self._server, None
        if server is None:
            return

        # Releases hung and sleeping handlers too, so none outlives the server.
        self._stopping.set()
        self._wake_acceptor()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        server.server_close()
        logger.debug("imitation %s: stopped url=%s", self.name, self.url)

    def _accept(self, server: _Server) -> None:
        """Accept calls until stop(); each is answered on its own daemon thread."""
        # Not serve_forever(): its shutdown() waits out a polling interval, which made
        # every test teardown pay for it. Here stop() wakes the loop with a connection.
        while not self._stopping.is_set():
            server.handle_request()

    def _wake_acceptor(self) -> None:
        if self._address is None:
            return
        try:
            with socket.create_connection(self._address, timeout=1.0):
                pass
        except OSError as exc:
            logger.debug("imitation %s: could not wake acceptor: %s", self.name, exc)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what tests read and set -----------------------------------------------------

    @property
    def url(self) -> str:
        """Return the base URL, `http://127.0.0.1:PORT`."""
        return f"http://{self.host}"

    @property
    def host(self) -> str:
        """Return `127.0.0.1:PORT`, the form vendors give hosts in without a scheme."""
        if self._address is None:
            raise RuntimeError(f"{self.name} imitation has not been started")
        return f"{self._address[0]}:{self._address[1]}"

    @property
    def mode(self) -> Mode:
        with self._lock:
            return self._mode

    @mode.setter
    def mode(self, value: str | Mode) -> None:
        mode = parse_mode(value)
        with self._lock:
            self._mode = mode
        logger.debug("imitation %s: mode=%s", self.name, mode)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Return a copy of the vendor calls received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def calls(self, path_prefix: str | None = None) -> int:
        """Count the vendor calls received, only those under `path_prefix` if given."""
        prefix = path_prefix or ""
        return sum(1 for request in self.requests if request.path.startswith(prefix))

    def clear_requests(self) -> None:
        """Forget the calls recorded so far."""
        with self._lock:
            self._requests.clear()

    def snapshot(self) -> dict[str, Any]:
        """Return what the control endpoint reports."""
        with self._lock:
            return {
                "vendor": self.name,
                "mode": self._mode.value,
                "latency": self.latency,
                "base_latency": self.base_latency,
                "calls": len(self._requests),
            }

    # -- what each vendor defines ---------------------------------------------------

    @abc.abstractmethod
    def knows(self, request: RecordedRequest) -> bool:
        """Tell whether the method and path are an endpoint of this vendor."""

    @abc.abstractmethod
    def credential(self, request: RecordedRequest) -> str | None:
        """Return the credential the call carries where this vendor reads it."""

    @abc.abstractmethod
    def healthy(self, request: RecordedRequest) -> Reply:
        """Answer a well-formed call the way the vendor does when all is well."""

    @abc.abstractmethod
    def rejected(self, request: RecordedRequest) -> Reply:
        """Answer a call whose credential the vendor refuses."""

    @abc.abstractmethod
    def rate_limited(self, request: RecordedRequest) -> Reply:
        """Answer a call over the vendor's rate limit or quota."""

    @abc.abstractmethod
    def server_error(self, request: RecordedRequest) -> Reply:
        """Answer with the vendor's own 5xx."""

    @abc.abstractmethod
    def not_found(self, request: RecordedRequest) -> Reply:
        """Answer a path the vendor does not serve."""

    def garbage(self, request: RecordedRequest) -> Reply:
        """Answer 200 with a body that is not JSON: an HTML page or cut-off JSON."""
        if self.garbage_style == "truncated":
            whole = self.healthy(request)
            return Reply(200, whole.body[: len(whole.body) // 2], whole.headers)
        return Reply(200, GARBAGE_HTML, {"Content-Type": "text/html; charset=UTF-8"})

    def reply_json(
        self, status: int, payload: Any, headers: dict[str, str] | None = None
    ) -> Reply:
        """Build a JSON answer with this vendor's content type."""
        body = json.dumps(payload).encode()
        return Reply(
            status, body, {"Content-Type": self.content_type, **(headers or {})}
        )

    # -- serving -------------------------------------------------------------------

    def serve(self, handler: _Handler) -> None:
        """Read, record and answer one call on the handler's connection."""
        request = _read_request(handler)
        if request.path.startswith(CONTROL_PREFIX):
            _send(handler, self._control(request))
            return

        with self._lock:
            self._requests.append(request)
            mode = self._mode

        if mode is Mode.HANG:
            self._hang(handler, request)
            return
        if not self._pause(mode):
            handler.close_connection = True
            return

        reply = self._answer(request, mode)
        logger.debug(
            "imitation %s: %s %s mode=%s status=%s",
            self.name,
            request.method,
            request.path,
            mode,
            reply.status,
        )
        _send(handler, reply)

    def _answer(self, request: RecordedRequest, mode: Mode) -> Reply:
        if not self.knows(request):
            return self.not_found(request)
        if mode is Mode.REJECTED or not self._accepts(request):
            return self.rejected(request)
        if mode is Mode.RATE_LIMITED:
            return self.rate_limited(request)
        if mode is Mode.SERVER_ERROR:
            return self.server_error(request)
        if mode is Mode.GARBAGE:
            return self.garbage(request)
        return self.healthy(request)

    def _accepts(self, request: RecordedRequest) -> bool:
        return self.credential(request) == self.secret

    def _pause(self, mode: Mode) -> bool:
        """Wait the configured latency; return False when stop() cut it short."""
        delay = self.base_latency + (self.latency if mode is Mode.SLOW else 0.0)
        if delay <= 0:
            return True
        return not self._stopping.wait(delay)

    def _hang(self, handler: _Handler, request: RecordedRequest) -> None:
        logger.debug(
            "imitation %s: hanging %s %s", self.name, request.method, request.path
        )
        handler.close_connection = True
        self._stopping.wait(self.hang_seconds)

    # -- control endpoint ----------------------------------------------------------

    def _control(self, request: RecordedRequest) -> Reply:
        route = (request.method, request.path.removeprefix(CONTROL_PREFIX))
        if route == ("GET", "state"):
            return _control_json(200, self.snapshot())
        if route == ("POST", "mode"):
            return self._switch(request)
        return _control_json(404, {"error": f"no control endpoint {' '.join(route)}"})

    def _switch(self, request: RecordedRequest) -> Reply:
        try:
            self._apply(request.json())
        except ValueError as exc:
            return _control_json(400, {"error": str(exc)})
        return _control_json(200, self.snapshot())

    def _apply(self, change: Any) -> None:
        """Validate a whole change before applying any of it."""
        if not isinstance(change, dict) or "mode" not in change:
            raise ValueError('expected a JSON object with a "mode" field')
        mode = parse_mode(change["mode"])
        latency = _seconds(change, "latency", self.latency)
        base_latency = _seconds(change, "base_latency", self.base_latency)

        with self._lock:
            self._mode = mode
            self.latency = latency
            self.base_latency = base_latency
        logger.debug("imitation %s: mode=%s latency=%s", self.name, mode, latency)


def _seconds(change: dict[str, Any], key: str, default: float) -> float:
    value = change.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{key} must be a number of seconds >= 0, got {value!r}")
    return float(value)


def _control_json(status: int, payload: dict[str, Any]) -> Reply:
    return Reply(
        status, json.dumps(payload).encode(), {"Content-Type": "application/json"}
    )


def _read_request(handler: BaseHTTPRequestHandler) -> RecordedRequest:
    split = urlsplit(handler.path)
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length) if length > 0 else b""
    headers = {name.lower(): value for name, value in handler.headers.items()}
    return RecordedRequest(handler.command, split.path, split.query, headers, body)


def _send(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
    try:
        handler.send_response(reply.status)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(reply.body)))
        handler.end_headers()
        handler.wfile.write(reply.body)
    except (BrokenPipeError, ConnectionResetError):
        # The client gave up first (a probe's timeout); there is no one left to answer.
        handler.close_connection = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Idle keep-alive connections must not pin a thread for long after a test ends.
    timeout = 10
    # Headers and body leave in separate writes; Nagle's algorithm would hold the
    # second one back for a delayed ACK, adding 40 ms to each keep-alive call.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self.server.imitation.serve(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        # Tests and the demo make many calls: one stderr line each would drown them.
        logger.debug("imitation %s: %s", self.server.imitation.name, format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], imitation: Imitation) -> None:
        self.imitation = imitation
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The stdlib prints a traceback to stderr; keep it in the module's log.
        logger.exception("imitation %s: failed answering a call", self.imitation.name)
