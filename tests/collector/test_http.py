"""The one outbound-HTTP wrapper: bodies read as they arrive, in every encoding."""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from collector.http import TransportError, fetch, new_session
from statusd import logs

DOCUMENT = {"model": {"version": "v7"}, "padding": "x" * 100_000}
COMPRESSED = gzip.compress(json.dumps(DOCUMENT).encode())


class CompressedHandler(BaseHTTPRequestHandler):
    """Answers gzip-compressed JSON, in chunks at /chunked, else with a length."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Encoding", "gzip")
        if self.path == "/chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(COMPRESSED), 1000):
                part = COMPRESSED[start : start + 1000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(COMPRESSED)))
            self.end_headers()
            self.wfile.write(COMPRESSED)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def compressed_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), CompressedHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("path", ["/chunked", "/whole"])
def test_it_reads_a_compressed_answer_whole(compressed_url: str, path: str):
    session = new_session()

    answer = fetch(session, "GET", compressed_url + path, timeout=2.0)
    session.close()

    assert answer.status == 200
    assert answer.json() == DOCUMENT


MALFORMED = (
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Broken\r\nConnection: close\r\n\r\n{}"
)


@pytest.fixture
def malformed_url() -> Iterator[str]:
    """A server whose answers carry a header line without a colon."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def answer() -> None:
        with contextlib.suppress(OSError):
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(MALFORMED)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/health"
    thread.join(5)
    listener.close()


@pytest.fixture
def entry_point_logging(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    """Logging as `statusd` sets it up, into `capsys`; the test run's restored after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    urllib3_loggers = [
        logging.getLogger(name)
        for name in ("urllib3", "urllib3.connection", "urllib3.connectionpool")
    ]
    levels = [logger.level for logger in urllib3_loggers]
    logs.setup("INFO")
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for logger, saved in zip(urllib3_loggers, levels, strict=True):
        logger.setLevel(saved)


def test_an_answer_with_malformed_headers_logs_no_traceback(
    entry_point_logging: None, malformed_url: str, capsys: pytest.CaptureFixture[str]
):
    session = new_session()

    answer = fetch(session, "GET", malformed_url, timeout=2.0)
    session.close()

    assert answer.status == 200
    logged = capsys.readouterr().err
    assert "Failed to parse headers" not in logged
    assert "Traceback" not in logged


# urllib3 warns of every unverified request; here that is the point.
@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_a_certificate_no_authority_signed_fails_the_tls_handshake(tls_url: str):
    session = new_session()

    with pytest.raises(TransportError) as failed:
        fetch(session, "GET", tls_url, timeout=2.0)
    unverified = fetch(session, "GET", tls_url, timeout=2.0, verify=False)
    session.close()

    assert str(failed.value) == "TLS handshake with 127.0.0.1 failed"
    # The same server answers once verification is off: TLS was the only obstacle.
    assert unverified.status == 200
