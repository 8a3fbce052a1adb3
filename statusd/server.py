"""Serving the API: gunicorn for production, a threaded server inside `statusd up`."""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

log = logging.getLogger(__name__)


class BackgroundServer:
    """The API on a threaded Werkzeug server, in a thread of this process.

    Good for one process that also runs the collector (`statusd up`, the demo and
    tests); production runs `statusd serve`, which is gunicorn.
    """

    def __init__(self, app: Flask, host: str, port: int):
        from statusd.cli import StartError

        try:
            # Werkzeug prints its own advice and exits when the port is taken, so
            # look first and say it our way.
            ensure_free(host, port)
            self.server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        except OSError as error:
            reason = error.strerror or str(error)
            raise StartError(f"cannot listen on {host}:{port}: {reason}") from None
        self.host = host
        self.port = self.server.server_port
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="api-server", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> BackgroundServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def ensure_free(host: str, port: int) -> None:
    """Raise OSError when nothing could listen on host:port (taken, bad address)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def serve_with_gunicorn(app: Flask, host: str, port: int, *, workers: int) -> None:
    """Run gunicorn in this process with `app`, already built and validated."""
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "worker_class": "gthread",
                "threads": 4,
                "graceful_timeout": 5,
                # No access log by default: one line per widget poll hides what matters.
                "accesslog": None,
                # gunicorn's control socket (since 25.1, hence the floor in setup.cfg)
                # sits at one path per user; two `statusd serve` on a machine would
                # fight over it, and we do not use it.
                "control_socket_disable": True,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return app

    log.info("serving the API with gunicorn on %s:%s", host, port)
    Application().run()
