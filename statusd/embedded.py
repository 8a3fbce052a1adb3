"""The embedded Redis: a fakeredis server on loopback, for running without a Redis.

It speaks the Redis protocol on a real TCP port, so `redis-cli -p PORT` works and
the collector and the API use it exactly as they would a real Redis. It keeps
everything in memory: what it holds is gone when statusd stops.
"""

from __future__ import annotations

import logging
import threading
from typing import cast

from fakeredis import TcpFakeServer

log = logging.getLogger(__name__)


class EmbeddedRedis:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.server = TcpFakeServer((host, port), server_type="redis")
        # Connection threads must not keep the process alive after Ctrl-C.
        self.server.daemon_threads = True
        self.server.block_on_close = False
        # A TCP/IP server's address: the host is text, never bytes.
        self.host, self.port = cast(tuple[str, int], self.server.server_address[:2])
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="embedded-redis",
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self) -> EmbeddedRedis:
        self._thread.start()
        log.info("embedded Redis listening on %s:%s", self.host, self.port)
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
