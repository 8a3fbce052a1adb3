"""Build the parts from configuration and environment; each command wires them."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from pydantic import BaseModel

from api.app import create_app
from collector import probes
from collector.daemon import Collector
from shared import config as configuration
from shared.config import Config, Settings
from shared.redact import read_secret
from shared.store import StatusStore, connect

log = logging.getLogger(__name__)

# The API fails fast on Redis (a request must not hang); the collector can wait more.
API_REDIS_TIMEOUT = 1.0
COLLECTOR_REDIS_TIMEOUT = 3.0


def load_config(
    path: str | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """The configuration with every kind's options validated; raises ConfigError."""
    environ = os.environ if environ is None else environ
    config = configuration.load(
        path, environ=environ, option_models=probes.option_models()
    )
    remember_credentials(config, environ)
    missing = config.missing_contract_services()
    if missing:
        # Allowed (a deployment may not use every service), and the document still
        # holds them as unknown; but it must not go unnoticed.
        log.warning(
            "%s leaves out services the widget expects (they read unknown): %s",
            config.source,
            ", ".join(missing),
        )
    return config


# Options naming a variable that holds no secret: a URL the widget's operator may
# need to read in a reason.
NOT_SECRET_VARIABLES = frozenset({"base_url_env"})


def remember_credentials(config: Config, environ: Mapping[str, str]) -> None:
    """Remember, for scrubbing, the value of every variable an `*_env` option names.

    A probe remembers its credential when it first reads it; until then a log line
    (a driver's error at start, say) could still show it.
    """
    for service in config.services:
        for variable in credential_variables(service.options):
            read_secret(environ, variable)


def credential_variables(options: BaseModel | Mapping[str, Any]) -> list[str]:
    """The variables named by `*_env` options, nested tables included."""
    table = options.model_dump() if isinstance(options, BaseModel) else options
    found = []
    for key, value in table.items():
        if isinstance(value, Mapping):
            found += credential_variables(value)
        elif isinstance(value, str) and _names_a_secret(key):
            found.append(value)
    return found


def _names_a_secret(option: str) -> bool:
    return option.endswith("_env") and option not in NOT_SECRET_VARIABLES


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
