"""Build the parts from configuration and environment; each command wires them."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from flask import Flask

from api.app import create_app
from collector import probes
from collector.daemon import Collector
from shared import config as configuration
from shared.config import Config, Settings
from shared.store import StatusStore, connect

log = logging.getLogger(__name__)

# The API fails fast on Redis (a request must not hang); the collector can wait more.
API_REDIS_TIMEOUT = 1.0
COLLECTOR_REDIS_TIMEOUT = 3.0


def load_config(
    path: str | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """The configuration with every kind's options validated; raises ConfigError."""
    config = configuration.load(
        path, environ=environ, option_models=probes.option_models()
    )
    missing = config.missing_contract_services()
    if missing:
        # Allowed (a deployment may not use every service), but the widget expects
        # all nine keys, so it must not go unnoticed.
        log.warning(
            "%s leaves out services the widget expects: %s",
            config.source,
            ", ".join(missing),
        )
    return config


def build_collector(
    config: Config, redis_url: str, environ: Mapping[str, str]
) -> Collector:
    store = StatusStore(connect(redis_url, timeout=COLLECTOR_REDIS_TIMEOUT))
    context = probes.ProbeContext(environ=environ, store=store)
    return Collector(config, store, context)


def build_api(
    config: Config, redis_url: str, settings: Settings, *, notice: str | None = None
) -> Flask:
    store = StatusStore(connect(redis_url, timeout=API_REDIS_TIMEOUT))
    return create_app(config, store, api_key=settings.api_key, notice=notice)


def environment() -> Mapping[str, str]:
    return os.environ
