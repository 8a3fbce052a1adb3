"""SIGTERM and Ctrl-C stop every long-running command the same way.

The handlers are installed as a command starts, before anything is built, so a
signal that arrives during start-up is not lost (nor a KeyboardInterrupt raised
in the middle of it): the command finishes starting, sees the signal, and stops.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

log = logging.getLogger(__name__)


class StopSignals:
    def __init__(self) -> None:
        self.event = threading.Event()

    def install(self) -> StopSignals:
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, self._on_signal)
        return self

    def wait(self) -> None:
        """Block until a stop signal arrives (or `event` is set by someone else)."""
        # wait() with a timeout keeps the main thread responsive to signals.
        while not self.event.wait(0.5):
            pass

    def _on_signal(self, number: int, frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(number).name)
        self.event.set()
