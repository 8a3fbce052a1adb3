"""Wait for SIGTERM or Ctrl-C, so every long-running command stops the same way."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

log = logging.getLogger(__name__)


def wait_for_stop_signal(stop: threading.Event | None = None) -> None:
    """Block until SIGTERM or SIGINT arrives (or `stop` is set by someone else)."""
    stop = stop or threading.Event()

    def on_signal(number: int, frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(number).name)
        stop.set()

    previous = {
        sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        # wait() with a timeout keeps the main thread responsive to signals.
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
