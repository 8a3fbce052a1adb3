"""Local HTTP servers that answer in one chosen way, for probing in tests.

Each `Upstream` is a stdlib threaded server on 127.0.0.1, on a port of its own, run
by a daemon thread. It records what every request carried, so a test can check that
a header really reached the server. A hanging upstream holds each request until
`stop()`, so no test leaves a connection open behind it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

# Longest a hanging request is held when nobody stops its server.
HANG_LIMIT_SECONDS = 120.0

HEALTHY_DOCUMENT = {"status": "ok", "model": {"version": "v7"}, "count": 12}


@dataclass(frozen=True)
class Behaviour:
    """How an upstream answers: after `delay` seconds, or never when `hang`.

    With `stall_body` it sends the headers and half the body, then holds the rest;
    with `trickle` it sends the body one byte every `trickle` seconds.
    """

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    delay: float = 0.0
    hang: bool = False
    stall_body: bool = False
    trickle: float = 0.0


@dataclass(frozen=True)
class Received:
    """One request as the server saw it; header names are lower-cased."""

    method: str
    path: str
    headers: dict[str, str]


class Upstream:
    def __init__(self, behaviour: Behaviour):
        self.behaviour = behaviour
        self.received: list[Received] = []
        self.released = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"upstream-{self.port}",
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release held requests, then close the listening socket."""
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        """Record `request`, then answer it as the behaviour says."""
        headers = {name.lower(): value for name, value in request.headers.items()}
        self.received.append(Received(request.command, request.path, headers))

        behaviour = self.behaviour
        if behaviour.hang:
            self.released.wait(HANG_LIMIT_SECONDS)
            return
        if behaviour.delay and self.released.wait(behaviour.delay):
            return

        request.send_response(behaviour.status)
        request.send_header("Content-Type", behaviour.content_type)
        request.send_header("Content-Length", str(len(behaviour.body)))
        request.end_headers()
        if request.command == "HEAD":
            return
        if behaviour.stall_body:
            request.wfile.write(behaviour.body[: len(behaviour.body) // 2])
            request.wfile.flush()
            self.released.wait(HANG_LIMIT_SECONDS)
            return
        if behaviour.trickle:
            self._trickle(request, behaviour.body, behaviour.trickle)
            return
        request.wfile.write(behaviour.body)

    def _trickle(
        self, request: BaseHTTPRequestHandler, body: bytes, every: float
    ) -> None:
        for offset in range(len(body)):
            request.wfile.write(body[offset : offset + 1])
            request.wfile.flush()
            if self.released.wait(every):
                return


def _handler_for(upstream: Upstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            # The probe may give up first and close the connection; some tests want it.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                upstream.answer(self)

        do_GET = do_POST = do_PUT = do_HEAD = do_OPTIONS = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output to what the tests print

    return Handler


def as_json(document: Any) -> bytes:
    return json.dumps(document).encode()


def healthy(document: Any = None) -> Behaviour:
    return Behaviour(body=as_json(HEALTHY_DOCUMENT if document is None else document))


def slow(delay: float, document: Any = None) -> Behaviour:
    return Behaviour(
        body=as_json(HEALTHY_DOCUMENT if document is None else document), delay=delay
    )


def hanging() -> Behaviour:
    return Behaviour(hang=True)


def stalling() -> Behaviour:
    return Behaviour(body=as_json(HEALTHY_DOCUMENT), stall_body=True)


def trickling(every: float = 0.1) -> Behaviour:
    """A healthy answer whose body comes one byte every `every` seconds."""
    return Behaviour(body=as_json(HEALTHY_DOCUMENT), trickle=every)


def failing(status: int) -> Behaviour:
    return Behaviour(status=status, body=as_json({"error": f"failed with {status}"}))


def broken_json() -> Behaviour:
    return Behaviour(
        body=b"<html><body>502 Bad Gateway</body></html>", content_type="text/html"
    )


def huge(size: int = 2 << 20) -> Behaviour:
    """A well-formed JSON answer of `size` bytes (2 MiB unless told)."""
    padding = "x" * max(0, size - len('{"padding":""}'))
    return Behaviour(body=as_json({"padding": padding}))


def refused_port() -> int:
    """A loopback port where nothing listens, so connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
