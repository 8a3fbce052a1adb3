"""Configuration: which services to probe and how, read and validated once at start.

The file is TOML, picked by `STATUSD_CONFIG`; without it `shared.defaults` builds the
contract's nine services from the environment. Secrets never appear in the file,
only the names of the environment variables that hold them (`api_key_env = ...`).

Every problem is reported as `<file>: <key>: <problem>`, so a typo points at its
line; the entry points turn `ConfigError` into that message and a non-zero exit.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.redact import read_secret

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

ModelT = TypeVar("ModelT", bound=BaseModel)

# Used with fullmatch: `$` would also match before a final newline ("db\n").
SERVICE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
# A port or a Redis database number. ASCII digits only: str.isdigit() also takes
# "²", which int() refuses.
SMALL_NUMBER = re.compile(r"[0-9]{1,5}")

# Keys of the widget's document that are not services: a service of that name would
# replace them.
RESERVED_NAMES = {"timestamp": "reserved: the document's own key"}


class ConfigError(Exception):
    """The configuration cannot be used; the message names file, key and problem."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = [f"{source}: {key}: {problem}" for key, problem in problems]
        super().__init__("\n".join(lines))


class Strict(BaseModel):
    """A configuration table: unknown keys are errors, so typos never pass silently."""

    # Strict: TOML has real types, so `interval = true` or `workers = "4"` is a
    # mistake to report, not a value to coerce (lax mode reads true as 1 second).
    # TOML also has `inf` and `nan`, which pass `gt=0` or slip past every bound.
    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, allow_inf_nan=False
    )


class CollectorSettings(Strict):
    workers: int | None = Field(
        None, ge=1, le=64, description="probes running at once; default one per service"
    )
    heartbeat_interval: float = Field(5.0, gt=0, le=60)
    heartbeat_ttl: float = Field(30.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _ttl_outlives_interval(self) -> CollectorSettings:
        if self.heartbeat_ttl <= self.heartbeat_interval:
            raise ValueError("heartbeat_ttl must be longer than heartbeat_interval")
        return self


class ServiceSchedule(Strict):
    """The keys every service has, whatever its kind."""

    kind: str
    interval: float = Field(60.0, ge=1, le=86400, description="seconds between probes")
    timeout: float = Field(10.0, gt=0, le=600, description="hard limit of one probe")
    stale_after: float | None = Field(
        None, gt=0, description="seconds after which a result reads unknown"
    )

    @model_validator(mode="after")
    def _timeout_fits_interval(self) -> ServiceSchedule:
        # Strictly shorter: a probe that uses its whole timeout must end before the
        # next run is due, or the scheduler would skip that run.
        if self.timeout >= self.interval:
            timeout = _described(self, "timeout", f"{self.timeout:g}s")
            interval = _described(self, "interval", f"{self.interval:g}s")
            raise ValueError(
                f"timeout ({timeout}) must be shorter than interval ({interval})"
            )
        return self

    @model_validator(mode="after")
    def _stale_after_spans_a_cycle(self) -> ServiceSchedule:
        # The next result may come interval + timeout after the last one; a shorter
        # window would show a healthy service as unknown between every two probes.
        cycle = self.interval + self.timeout
        if self.stale_after is not None and self.stale_after <= cycle:
            raise ValueError(
                f"stale_after ({self.stale_after:g}s) must be longer than interval"
                f" + timeout ({cycle:g}s)"
            )
        return self


def _described(model: BaseModel, name: str, value: str) -> str:
    """A value for a message, saying when it is a default the user never wrote."""
    return value if name in model.model_fields_set else f"{value}, the default"


@dataclass(frozen=True)
class ServiceConfig:
    name: str  # its key in the widget's document, e.g. "groqCloud"
    kind: str
    interval: float
    timeout: float
    stale_after: float
    options: BaseModel | Mapping[str, Any]


@dataclass(frozen=True)
class Config:
    source: str  # the file it came from, or "<built-in default>"
    services: tuple[ServiceConfig, ...]
    collector: CollectorSettings

    def missing_contract_services(self) -> list[str]:
        """The widget's services this configuration leaves out of the document."""
        from shared.fields import CONTRACT_FIELDS

        configured = {service.name for service in self.services}
        return [name for name in CONTRACT_FIELDS if name not in configured]

    def service(self, name: str) -> ServiceConfig:
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)


@dataclass(frozen=True)
class Settings:
    """Process settings from the environment (not from the file)."""

    redis_url: str | None
    api_key: str | None
    port: int
    log_level: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and check every variable; raise one ConfigError naming each problem."""
        environ = os.environ if environ is None else environ
        # Remembered before anything is checked: statusd's own Redis may hold a
        # password, and its key must never reach a log line either.
        redis_url = read_secret(environ, "REDIS_URL")
        api_key = read_secret(environ, "STATUS_API_KEY")
        port_text = environ.get("PORT", "5000")
        log_level = environ.get("LOG_LEVEL", "INFO").upper()

        problems = {
            "PORT": _port_problem(port_text),
            "REDIS_URL": _redis_url_problem(redis_url),
            "STATUS_API_KEY": _api_key_problem(api_key),
            "LOG_LEVEL": _log_level_problem(log_level),
        }
        found = [(key, problem) for key, problem in problems.items() if problem]
        if found:
            raise ConfigError("environment", found)
        return cls(
            redis_url=redis_url,
            api_key=api_key,
            port=int(port_text),
            log_level=log_level,
        )


def _port_problem(text: str) -> str | None:
    if SMALL_NUMBER.fullmatch(text) and 0 < int(text) < 65536:
        return None
    return f"not a TCP port: {text!r}"


def _redis_url_problem(url: str | None) -> str | None:
    """Why redis-py would refuse or misread the URL; None when it is fine or unset.

    The value is never echoed: a Redis URL may carry a password.
    """
    from redis.connection import parse_url

    if url is None:
        return None
    if not url.startswith(REDIS_SCHEMES):
        return f"must start with {', '.join(REDIS_SCHEMES)}"
    try:
        parse_url(url)
    except ValueError:
        return "cannot be read as a Redis URL (check its port and query)"
    database = redis_database(url)
    if database and not SMALL_NUMBER.fullmatch(database):
        return "its database must be a number, as in redis://host:6379/0"
    return None


def redis_database(url: str) -> str:
    """The database a Redis URL names, as written; "" when it names none.

    redis-py reads the path as the database number but quietly takes database 0
    when it is not one (`redis://host/abc`); `?db=` wins over the path.
    """
    parts = urlsplit(url)
    database = "" if parts.scheme == "unix" else parts.path.removeprefix("/")
    return parse_qs(parts.query).get("db", [database])[0]


def _api_key_problem(api_key: str | None) -> str | None:
    # Clients send it in a header, which carries printable ASCII only, and a server
    # strips the spaces around a header's value: such a key could never match.
    if api_key is None:
        return None
    if api_key.isascii() and api_key.isprintable() and api_key == api_key.strip():
        return None
    return "must be printable ASCII without spaces around it (an HTTP header)"


def _log_level_problem(level: str) -> str | None:
    return None if level in LOG_LEVELS else f"one of {', '.join(LOG_LEVELS)}"


OptionModels = Mapping[str, type[BaseModel]]


def load(
    path: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    option_models: OptionModels | None = None,
) -> Config:
    """Read the configuration from `path`, `$STATUSD_CONFIG` or the built-in default.

    With `option_models` (kind -> options model) each service's options are
    validated too, and an unknown kind is an error.
    """
    environ = os.environ if environ is None else environ
    path = path or environ.get("STATUSD_CONFIG") or None
    if path is None:
        from shared.defaults import default_document

        return parse(default_document(environ), "<built-in default>", option_models)
    return parse(read_toml(path), path, option_models)


def read_toml(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(path, [("(file)", "no such file")]) from None
    except OSError as error:
        raise ConfigError(
            path, [("(file)", f"cannot be read: {error.strerror or error}")]
        ) from None
    except UnicodeDecodeError as error:
        # tomllib decodes before parsing, so a binary or Latin-1 file lands here.
        problem = f"not UTF-8 text (byte {error.start})"
        raise ConfigError(path, [("(file)", problem)]) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path, [("(syntax)", f"not valid TOML: {error}")]) from None


def parse(
    document: Mapping[str, Any], source: str, option_models: OptionModels | None = None
) -> Config:
    """Validate a parsed document; collect every problem before raising."""
    problems: list[tuple[str, str]] = []
    unknown = sorted(set(document) - {"collector", "services"})
    problems += [
        (key, "unknown table (expected: collector, services)") for key in unknown
    ]

    collector = _validate(
        CollectorSettings, document.get("collector", {}), "collector", problems
    )
    services = _parse_services(document.get("services"), option_models, problems)
    if problems:
        raise ConfigError(source, problems)
    assert collector is not None
    return Config(source=source, services=tuple(services), collector=collector)


def _parse_services(
    table: Any, option_models: OptionModels | None, problems: list[tuple[str, str]]
) -> list[ServiceConfig]:
    if not isinstance(table, Mapping) or not table:
        problems.append(
            ("services", "at least one [services.<name>] table is required")
        )
        return []
    services = []
    for name, entry in table.items():
        service = _parse_service(name, entry, option_models, problems)
        if service is not None:
            services.append(service)
    return services


def _parse_service(
    name: str,
    entry: Any,
    option_models: OptionModels | None,
    problems: list[tuple[str, str]],
) -> ServiceConfig | None:
    where = f"services.{name}"
    if not SERVICE_NAME.fullmatch(name):
        problems.append(
            (where, "a service name is a letter then letters, digits, _ or -")
        )
        return None
    if name in RESERVED_NAMES:
        problems.append((where, RESERVED_NAMES[name]))
        return None
    if not isinstance(entry, Mapping):
        problems.append((where, "must be a table"))
        return None

    common_keys = set(ServiceSchedule.model_fields)
    common = {key: value for key, value in entry.items() if key in common_keys}
    options = {key: value for key, value in entry.items() if key not in common_keys}
    schedule = _validate(ServiceSchedule, common, where, problems)
    # The options are checked even when the schedule is wrong, so that one run of
    # `statusd check` reports every problem of the service.
    parsed_options = _parse_options(
        entry.get("kind"), options, where, option_models, problems
    )
    if schedule is None or parsed_options is None:
        return None

    stale_after = schedule.stale_after or 3 * schedule.interval
    return ServiceConfig(
        name,
        schedule.kind,
        schedule.interval,
        schedule.timeout,
        stale_after,
        parsed_options,
    )


def _parse_options(
    kind: Any,
    options: dict[str, Any],
    where: str,
    option_models: OptionModels | None,
    problems: list[tuple[str, str]],
) -> BaseModel | Mapping[str, Any] | None:
    """The kind's options, validated when the kinds are known; None on a problem."""
    if option_models is None:
        return options
    if not isinstance(kind, str):
        return None  # the schedule's validation has reported it
    model = option_models.get(kind)
    if model is None:
        known = ", ".join(sorted(option_models))
        problems.append((f"{where}.kind", f"unknown kind {kind!r} (known: {known})"))
        return None
    return _validate(model, options, where, problems)


def _validate(
    model: type[ModelT], data: Any, where: str, problems: list[tuple[str, str]]
) -> ModelT | None:
    if not isinstance(data, Mapping):
        problems.append((where, "must be a table"))
        return None
    try:
        return model.model_validate(dict(data))
    except ValidationError as error:
        problems.extend(_describe(error, where))
        return None


def _describe(error: ValidationError, where: str) -> list[tuple[str, str]]:
    described = []
    for detail in error.errors():
        location = ".".join(str(part) for part in (where, *detail["loc"]))
        message = detail["msg"]
        if detail["type"] == "extra_forbidden":
            message = "unknown key (a typo?)"
        elif detail["type"] == "missing":
            message = "required key is missing"
        else:
            message = message.removeprefix("Value error, ")
        described.append((location, message))
    return described
