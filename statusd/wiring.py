"""Build the parts from configuration and environment; each command wires them."""

from __future__ import annotations

import os
from collections.abc import Mapping

from flask import Flask

from api.app import create_app
from collector import probes
from collector.daemon import Collector
from shared import config as configuration
from shared.config import Config, Settings
from shared.store import StatusStore, connect

# The API fails fast on Redis (a request must not hang); the collector can wait more.
API_REDIS_TIMEOUT = 1.0
COLLECTOR_REDIS_TIMEOUT = 3.0


def load_config(
    path: str | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """The configuration with every kind's options validated; raises ConfigError."""
    return configuration.load(
        path, environ=environ, option_models=probes.option_models()
    )


def build_collector(
    config: Config, redis_url: str, environ: Mapping[str, str]
) -> Collector:
    store = StatusStore(connect(redis_url, timeout=COLLECTOR_REDIS_TIMEOUT))
    context = probes.ProbeContext(environ=environ, store=store)
    return Collector(config, store, context)


def build_api(config: Config, redis_url: str, settings: Settings) -> Flask:
    store = StatusStore(connect(redis_url, timeout=API_REDIS_TIMEOUT))
    return create_app(config, store, api_key=settings.api_key)


def environment() -> Mapping[str, str]:
    return os.environ
