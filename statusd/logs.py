"""Logging for the entry points: one stderr handler whose every line is scrubbed."""

from __future__ import annotations

import logging
import sys

from shared.redact import RedactingFormatter

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def setup(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level if level in logging.getLevelNamesMapping() else "INFO")
    # Library warnings (urllib3's InsecureRequestWarning with verify_tls = false)
    # become log lines, so they are scrubbed and formatted like everything else.
    logging.captureWarnings(True)
    # APScheduler logs every job run at INFO; we log status changes instead.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # Werkzeug's request lines carry query strings; the formatter scrubs them, but
    # one line per widget poll drowns the status changes.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # urllib3 logs full URLs at DEBUG.
    logging.getLogger("urllib3").setLevel(logging.INFO)
    # It warns, with a whole traceback, at every answer whose headers it cannot
    # parse: one vendor with malformed headers would repeat it at every probe. The
    # probe reports what matters in its result; only errors are worth a log line.
    for name in ("urllib3.connection", "urllib3.connectionpool"):
        logging.getLogger(name).setLevel(logging.ERROR)
