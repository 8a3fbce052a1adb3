"""Upstreams the integration tests control: a vendor API stand-in and a database proxy.

Both can be told to hang: they keep every connection open and never answer, the way
a stuck vendor or a frozen database does. `close()` releases whatever they hold.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Longest a hung request is held when nobody calls close(): a test that forgets must
# not leave threads behind forever.
MAX_HANG_SECONDS = 60


class Upstream:
    """A local HTTP API answering one JSON document on every path, or hanging."""

    def __init__(self, document: dict[str, Any]):
        self.document = document
        self.hanging = threading.Event()
        self.released = threading.Event()
        self.requests = 0
        self.hung_requests = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def hang(self) -> None:
        self.hanging.set()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests += 1
            hanging = self.hanging.is_set()
            self.hung_requests += hanging
        if hanging:
            self.released.wait(MAX_HANG_SECONDS)
            return
        body = json.dumps(self.document).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        answer: Callable[[BaseHTTPRequestHandler], None] = self._answer

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                answer(self)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        return Handler


class FreezingProxy:
    """A TCP proxy to a database that can freeze: then no byte passes either way.

    Frozen, it still accepts connections (the kernel would anyway) but forwards
    nothing, so a client waits on an answer that never comes, as with a database
    host that stopped responding mid-conversation.
    """

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.frozen = threading.Event()
        self.closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self) -> None:
        self.frozen.set()

    def close(self) -> None:
        self.closed.set()
        self.listener.close()
        with self._lock:
            for sock in self._sockets:
                sock.close()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self._track(client)
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        if self.frozen.is_set():
            return  # held open, never forwarded, until close()
        try:
            upstream = socket.create_connection(self.target)
        except OSError:
            client.close()
            return
        self._track(upstream)
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(
                target=self._pump, args=(source, sink), daemon=True
            ).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                break
            if not data:
                break
            if self.frozen.is_set():
                self.closed.wait(MAX_HANG_SECONDS)
                break
            try:
                sink.sendall(data)
            except OSError:
                break
        for sock in (source, sink):
            sock.close()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
