"""For a WSGI server started by hand: `gunicorn 'api.wsgi:app'`.

`statusd serve` is the usual way; this module builds the same app from the
environment. A bad configuration ends the process with its message, not a traceback.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from shared.config import ConfigError, Settings
from statusd.logs import setup
from statusd.wiring import build_api, load_config

if TYPE_CHECKING:
    from flask import Flask


def _build() -> Flask:
    try:
        settings = Settings.from_environ()
        # Before the configuration is read, so that its warnings are scrubbed too.
        setup(settings.log_level)
        config = load_config()
        if settings.redis_url is None:
            raise ConfigError("environment", [("REDIS_URL", "is not set")])
    except ConfigError as error:
        sys.exit(f"statusd: configuration error\n{error}")
    return build_api(config, settings.redis_url, settings)


app = _build()
