"""Fixtures of the collector's tests: local upstreams that are always stopped."""

from __future__ import annotations

import importlib.util
import os
import shutil
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

# The tests import `upstreams.py` beside this file as `collector_upstreams`: this folder
# has no __init__.py, and tests/integration has an `upstreams` module of its own, so
# the plain name on sys.path would give one folder the other's module in a full run.
UPSTREAMS_MODULE = "collector_upstreams"


def _load_upstreams() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        UPSTREAMS_MODULE, Path(__file__).with_name("upstreams.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs: its dataclasses look their module up by name.
    sys.modules[UPSTREAMS_MODULE] = module
    spec.loader.exec_module(module)
    return module


upstreams = _load_upstreams()


@pytest.fixture
def serve() -> Iterator[Callable[[upstreams.Behaviour], upstreams.Upstream]]:
    """Start upstreams on demand; every one is stopped after the test."""
    started: list[upstreams.Upstream] = []

    def start(behaviour: upstreams.Behaviour) -> upstreams.Upstream:
        upstream = upstreams.Upstream(behaviour).start()
        started.append(upstream)
        return upstream

    yield start
    for upstream in started:
        upstream.stop()


class HealthHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client giving up on the handshake is what the tests expect


def self_signed(folder: Path) -> tuple[Path, Path]:
    """Make a certificate for 127.0.0.1 that no authority signed: (cert, key)."""
    if shutil.which("openssl") is None:
        # Under CI a missing tool must not pass for a green run (.ci/run installs it).
        message = "the openssl command is needed to make a certificate"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-nodes", "-days", "1",
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-keyout", str(key), "-out", str(cert),
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_url(tmp_path: Path) -> Iterator[str]:
    """An https server on loopback whose certificate is self-signed."""
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = QuietServer(("127.0.0.1", 0), HealthHandler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}/health"
    server.shutdown()
    server.server_close()
