"""Check that the configuration is read once and that every mistake names file, key, problem."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from collector.probes import option_models
from shared.config import Config, ConfigError, Settings
from shared.redact import MASK, scrub
from statusd import cli
from statusd.wiring import load_config

# The widget's nine services, in the contract's order (contract/README.md).
CONTRACT_SERVICES = [
    "instaGraphApi",
    "webhooksConfig",
    "sqlDatabase",
    "groqCloud",
    "pinecone",
    "scheduler",
    "automation",
    "geminiApi",
    "llumaAi",
]

GOOD = """
[collector]
heartbeat_interval = 2
heartbeat_ttl = 10

[services.mainDb]
kind = "sql"
interval = 30
timeout = 5

[services.status]
kind = "http"
interval = 60
url = "https://example.test/health"
extract = { model_version = "build.version" }
"""


def write(tmp_path: Path, text: str, name: str = "statusd.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def problems_of(path: str) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert caught.value.source == path
    return caught.value.problems


def problem_at(path: str, key: str) -> str:
    """The one problem reported at `key`, failing when there is none."""
    found = [problem for where, problem in problems_of(path) if where == key]
    assert found, f"no problem reported at {key!r}"
    return found[0]


def service_toml(body: str, name: str = "db") -> str:
    return f'[services.{name}]\nkind = "sql"\n{body}\n'


def test_the_built_in_default_validates_and_lists_the_nine_contract_services() -> None:
    config = load_config(environ={})

    assert config.source == "<built-in default>"
    assert [service.name for service in config.services] == CONTRACT_SERVICES


def test_the_built_in_default_validates_every_kind_s_options() -> None:
    models = option_models()

    config = load_config(environ={})

    for service in config.services:
        assert isinstance(service.options, models[service.kind]), service.name


def test_the_default_pinecone_index_comes_from_the_environment() -> None:
    options = load_config(environ={"PINECONE_INDEX": "my-index"}).service("pinecone")

    assert "my-index" in json.dumps(options.options.model_dump())  # type: ignore[union-attr]


def test_it_reads_a_file_named_by_statusd_config(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)

    config = load_config(environ={"STATUSD_CONFIG": path})

    assert config.source == path
    assert [service.name for service in config.services] == ["mainDb", "status"]
    assert config.collector.heartbeat_ttl == 10


def test_a_path_given_wins_over_statusd_config(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)

    config = load_config(path, environ={"STATUSD_CONFIG": str(tmp_path / "nope.toml")})

    assert config.source == path


def test_a_service_gets_defaults_and_three_intervals_of_staleness(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, service_toml("interval = 20\ntimeout = 4"))

    service = load_config(path, environ={}).service("db")

    assert (service.interval, service.timeout, service.stale_after) == (20, 4, 60)


def test_it_names_a_missing_file(tmp_path: Path) -> None:
    path = str(tmp_path / "missing.toml")

    assert problem_at(path, "(file)") == "no such file"


def test_it_names_a_file_it_cannot_read(tmp_path: Path) -> None:
    # A directory stands in for an unreadable file: the tests may run as root.
    assert problem_at(str(tmp_path), "(file)").startswith("cannot be read")


def test_it_names_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('# caf\xe9\n[services.db]\nkind = "sql"\n'.encode("latin-1"))

    assert "not UTF-8" in problem_at(str(path), "(file)")


def test_it_names_bad_toml_syntax_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[services.db]\nkind = "sql"\ninterval = 3 0\n')

    problem = problem_at(path, "(syntax)")

    assert problem.startswith("not valid TOML")
    assert "line 3" in problem


def test_it_rejects_an_unknown_top_level_table(tmp_path: Path) -> None:
    path = write(tmp_path, "[colector]\nworkers = 2\n" + service_toml(""))

    assert "unknown table" in problem_at(path, "colector")


def test_it_points_at_a_misspelt_service_key(tmp_path: Path) -> None:
    path = write(tmp_path, service_toml("intervall = 30"))

    assert "unknown key" in problem_at(path, "services.db.intervall")


def test_it_points_at_a_misspelt_option_of_a_kind(tmp_path: Path) -> None:
    text = '[services.web]\nkind = "http"\nurl = "https://x.test"\ndegraded_msec = 5\n'
    path = write(tmp_path, text)

    assert "unknown key" in problem_at(path, "services.web.degraded_msec")


def test_it_names_an_unknown_kind_and_lists_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path, '[services.db]\nkind = "postgres"\n')

    problem = problem_at(path, "services.db.kind")

    assert "'postgres'" in problem
    for kind in option_models():
        assert kind in problem


def test_it_says_when_a_kind_is_missing(tmp_path: Path) -> None:
    path = write(tmp_path, "[services.db]\ninterval = 30\n")

    assert problem_at(path, "services.db.kind") == "required key is missing"


@pytest.mark.parametrize(
    ("body", "key", "words"),
    [
        ("interval = -5", "services.db.interval", "greater than or equal to 1"),
        ("timeout = 0", "services.db.timeout", "greater than 0"),
        ('interval = "often"', "services.db.interval", "valid number"),
        ("interval = true", "services.db.interval", "valid number"),
        ("degraded_ms = 2.5", "services.db.degraded_ms", "valid integer"),
        ("interval = 10\ntimeout = 10", "services.db", "must be shorter than interval"),
        ("interval = 60\nstale_after = 30", "services.db", "stale_after (30s)"),
    ],
)
def test_it_rejects_a_bad_value_and_says_why(
    tmp_path: Path, body: str, key: str, words: str
) -> None:
    path = write(tmp_path, service_toml(body))

    assert words in problem_at(path, key)


def test_it_rejects_a_bad_service_name(tmp_path: Path) -> None:
    path = write(tmp_path, '[services."9 lives"]\nkind = "sql"\n')

    assert "service name" in problem_at(path, "services.9 lives")


def test_it_rejects_a_service_that_is_not_a_table(tmp_path: Path) -> None:
    path = write(tmp_path, "[services]\ndb = 5\n")

    assert problem_at(path, "services.db") == "must be a table"


@pytest.mark.parametrize("text", ["", "[services]\n", "services = 3\n"])
def test_it_requires_at_least_one_service(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)

    assert "at least one" in problem_at(path, "services")


def test_a_heartbeat_must_outlive_its_interval(tmp_path: Path) -> None:
    text = "[collector]\nheartbeat_interval = 10\nheartbeat_ttl = 10\n"
    path = write(tmp_path, text + service_toml(""))

    assert "heartbeat_ttl" in problem_at(path, "collector")


def test_a_redis_job_store_needs_the_variable_holding_its_url(tmp_path: Path) -> None:
    path = write(tmp_path, '[services.jobs]\nkind = "scheduler"\nstore = "redis"\n')

    assert "url_env" in problem_at(path, "services.jobs")


def test_a_redis_job_store_with_its_url_variable_is_accepted(tmp_path: Path) -> None:
    text = (
        '[services.jobs]\nkind = "scheduler"\nstore = "redis"\nurl_env = "JOBS_URL"\n'
    )
    path = write(tmp_path, text)

    assert load_config(path, environ={}).service("jobs").kind == "scheduler"


@pytest.mark.parametrize("url", ["ftp://example.test", "example.test/health", ""])
def test_an_http_service_needs_an_http_url(tmp_path: Path, url: str) -> None:
    path = write(tmp_path, f'[services.web]\nkind = "http"\nurl = "{url}"\n')

    assert "http://" in problem_at(path, "services.web.url")


def test_an_http_service_may_only_extract_known_measurements(tmp_path: Path) -> None:
    text = (
        '[services.web]\nkind = "http"\nurl = "https://x.test"\n'
        'extract = { modelVersion = "model.version" }\n'
    )
    path = write(tmp_path, text)

    problem = problem_at(path, "services.web.extract")

    assert "'modelVersion'" in problem
    assert "model_version" in problem  # the list of known names helps fix the typo


def test_an_http_service_cannot_extract_its_latency(tmp_path: Path) -> None:
    text = (
        '[services.web]\nkind = "http"\nurl = "https://x.test"\n'
        'extract = { latency_ms = "took" }\n'
    )
    path = write(tmp_path, text)

    assert "'latency_ms'" in problem_at(path, "services.web.extract")


def test_it_reports_every_problem_at_once(tmp_path: Path) -> None:
    text = (
        "[extras]\n"
        "[collector]\nheartbeat_interval = 10\nheartbeat_ttl = 5\n"
        '[services.a]\nkind = "sql"\nintervall = 3\n'
        '[services.b]\nkind = "nope"\n'
        '[services.c]\nkind = "http"\nurl = "ftp://x"\n'
    )
    path = write(tmp_path, text)

    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})

    keys = [key for key, _ in caught.value.problems]
    assert keys == [
        "extras",
        "collector",
        "services.a.intervall",
        "services.b.kind",
        "services.c.url",
    ]
    lines = str(caught.value).splitlines()
    assert len(lines) == 5
    assert all(line.startswith(f"{path}: ") for line in lines)


def test_the_message_reads_file_key_problem() -> None:
    error = ConfigError("x.toml", [("services.db.interval", "too small")])

    assert str(error) == "x.toml: services.db.interval: too small"


@pytest.mark.parametrize(
    "port",
    ["0", "65536", "http", "-1", "80 ", "", "\u00b2", "\u0668\u0660", "9" * 5000],
)
def test_settings_reject_a_port_that_is_not_one(port: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_environ({"PORT": port})

    assert caught.value.source == "environment"
    assert caught.value.problems[0][0] == "PORT"
    assert repr(port) in caught.value.problems[0][1]


def test_settings_read_the_environment() -> None:
    settings = Settings.from_environ(
        {"PORT": "8080", "REDIS_URL": "redis://r:6379/0", "LOG_LEVEL": "debug"}
    )

    assert settings.port == 8080
    assert settings.redis_url == "redis://r:6379/0"
    assert settings.api_key is None
    assert settings.log_level == "DEBUG"


def test_settings_treat_empty_variables_as_unset() -> None:
    settings = Settings.from_environ({"REDIS_URL": "", "STATUS_API_KEY": ""})

    assert (settings.redis_url, settings.api_key, settings.port) == (None, None, 5000)


@pytest.fixture
def cli_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run the CLI in a clean environment and undo its logging set-up afterwards."""
    for name in ("PORT", "STATUSD_CONFIG", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("cli_environment")
def test_check_exits_3_with_the_message_and_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, service_toml("intervall = 30"))

    code = cli.main(["check", "--config", path])

    captured = capsys.readouterr()
    assert code == cli.EXIT_CONFIG == 3
    assert f"{path}: services.db.intervall: unknown key" in captured.err
    assert "Traceback" not in captured.err + captured.out


@pytest.mark.usefixtures("cli_environment")
def test_check_exits_3_on_a_file_that_is_not_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "binary.toml"
    path.write_bytes(b"\xff\xfe\x00[services]")

    code = cli.main(["check", "--config", str(path)])

    assert code == 3
    assert "not UTF-8" in capsys.readouterr().err


@pytest.mark.usefixtures("cli_environment")
def test_check_exits_0_and_lists_the_services_of_a_good_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, GOOD)

    code = cli.main(["check", "--config", path])

    out = capsys.readouterr().out
    assert code == 0
    assert "2 services, configuration is valid" in out
    assert "mainDb" in out and "status" in out


def test_config_finds_a_service_by_name_or_raises_key_error() -> None:
    config: Config = load_config(environ={})

    assert config.service("scheduler").kind == "scheduler"
    with pytest.raises(KeyError):
        config.service("nope")


@pytest.mark.parametrize("url", ["foo://bar", "localhost:6379", "http://redis:6379"])
def test_settings_reject_a_redis_url_of_another_scheme_without_echoing_it(
    url: str,
) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_environ({"REDIS_URL": url})

    key, problem = caught.value.problems[0]
    assert key == "REDIS_URL"
    assert "redis://" in problem
    assert url not in problem


def test_settings_reject_an_unknown_log_level() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_environ({"LOG_LEVEL": "loud"})

    assert caught.value.problems[0][0] == "LOG_LEVEL"


def test_a_bad_schedule_does_not_hide_the_service_s_bad_options(tmp_path: Path) -> None:
    path = write(
        tmp_path, service_toml('interval = 10\ntimeout = 30\ndegraded_ms = "fast"')
    )

    keys = [key for key, _ in problems_of(path)]

    assert keys == ["services.db", "services.db.degraded_ms"]


def test_it_says_when_a_timeout_it_complains_of_is_the_default(tmp_path: Path) -> None:
    path = write(tmp_path, service_toml("interval = 5"))

    assert problem_at(path, "services.db") == (
        "timeout (10s, the default) must be shorter than interval (5s)"
    )


@pytest.mark.usefixtures("cli_environment")
def test_check_notes_the_widget_s_services_a_file_leaves_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, service_toml("", name="sqlDatabase"))

    code = cli.main(["check", "--config", path])

    out = capsys.readouterr().out
    assert code == 0
    assert "the widget also expects instaGraphApi, webhooksConfig" in out
    assert "they will read unknown" in out
    assert "sqlDatabase," not in out


@pytest.mark.usefixtures("cli_environment")
def test_collect_with_a_bad_redis_url_exits_3_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REDIS_URL", "foo://user:hunter22@bar")

    code = cli.main(["collect"])

    err = capsys.readouterr().err
    assert code == 3
    assert "REDIS_URL: must start with redis://" in err
    assert "hunter22" not in err and "Traceback" not in err


def test_it_rejects_a_service_name_ending_in_a_newline(tmp_path: Path) -> None:
    path = write(tmp_path, '[services."sqlx\\n"]\nkind = "sql"\n')

    assert "service name" in problem_at(path, "services.sqlx\n")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        (service_toml("stale_after = inf"), "services.db.stale_after"),
        (service_toml("interval = nan"), "services.db.interval"),
        (service_toml("timeout = -inf"), "services.db.timeout"),
        (
            "[collector]\nheartbeat_ttl = inf\n" + service_toml(""),
            "collector.heartbeat_ttl",
        ),
        (
            '[services.runs]\nkind = "automation"\nrate_window_hours = inf\n',
            "services.runs.rate_window_hours",
        ),
        (
            '[services.jobs]\nkind = "scheduler"\noverdue_grace = nan\n',
            "services.jobs.overdue_grace",
        ),
    ],
)
def test_it_rejects_inf_and_nan_and_names_the_key(
    tmp_path: Path, text: str, key: str
) -> None:
    path = write(tmp_path, text)

    assert "finite" in problem_at(path, key)


@pytest.mark.parametrize("kind", sorted(option_models()))
def test_every_kind_s_options_refuse_inf_and_nan(kind: str) -> None:
    assert option_models()[kind].model_config.get("allow_inf_nan") is False


@pytest.mark.parametrize(
    "url",
    [
        "redis://cache.test/abc",
        "redis://cache.test:6379/-1",
        "redis://cache.test/0/1",
        "redis://cache.test/\u00b2",
        "redis://cache.test/0?db=two",
        "redis://cache.test:port/0",
        "redis://cache.test:70000/0",
        "unix:///run/redis.sock?db=x",
    ],
)
def test_settings_reject_a_redis_url_whose_database_or_port_is_no_number(
    url: str,
) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_environ({"REDIS_URL": url.replace("cache", "user:s3cret@cache")})

    key, problem = caught.value.problems[0]
    assert key == "REDIS_URL"
    assert "s3cret" not in problem


@pytest.mark.parametrize(
    "url",
    [
        "redis://cache.test",
        "redis://cache.test/",
        "redis://cache.test:6380/12",
        "rediss://:pw@cache.test/3",
        "unix:///run/redis.sock?db=2",
    ],
)
def test_settings_accept_a_redis_url_with_or_without_a_database(url: str) -> None:
    assert Settings.from_environ({"REDIS_URL": url}).redis_url == url


@pytest.mark.parametrize(
    "key", ["caf\u00e9-key-123", "key\twith-tab", " spaced-key", "key-\x7f", "k\u00fc"]
)
def test_settings_reject_an_api_key_no_header_can_carry_without_echoing_it(
    key: str,
) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_environ({"STATUS_API_KEY": key})

    name, problem = caught.value.problems[0]
    assert name == "STATUS_API_KEY"
    assert key.strip() not in problem


def test_settings_accept_a_printable_ascii_api_key() -> None:
    key = "k3y with spaces & !@#$%^*()~"

    assert Settings.from_environ({"STATUS_API_KEY": key}).api_key == key


@pytest.mark.usefixtures("cli_environment")
def test_collect_with_a_redis_url_naming_no_database_number_exits_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/abc")

    code = cli.main(["collect"])

    err = capsys.readouterr().err
    assert code == 3
    assert "REDIS_URL: its database must be a number" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('config_table = "webhook_config\\n"', "services.hooks.config_table"),
        ('active_column = "active\\n"', "services.hooks.active_column"),
    ],
)
def test_a_table_or_column_name_ending_in_a_newline_is_refused(
    tmp_path: Path, body: str, key: str
) -> None:
    path = write(tmp_path, f'[services.hooks]\nkind = "webhooks"\n{body}\n')

    assert "is not a" in problem_at(path, key)


def test_an_automation_window_beyond_a_year_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path, '[services.auto]\nkind = "automation"\nrate_window_hours = 1e9\n'
    )

    assert problem_at(path, "services.auto.rate_window_hours")


def test_a_service_named_timestamp_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, service_toml("", name="timestamp"))

    assert problems_of(path) == [
        ("services.timestamp", "reserved: the document's own key")
    ]


def test_settings_report_every_bad_variable_at_once() -> None:
    environ = {
        "PORT": "http",
        "REDIS_URL": "http://cache.test",
        "STATUS_API_KEY": " spaced-key",
        "LOG_LEVEL": "loud",
    }

    with pytest.raises(ConfigError) as caught:
        Settings.from_environ(environ)

    keys = [key for key, _ in caught.value.problems]
    assert keys == ["PORT", "REDIS_URL", "STATUS_API_KEY", "LOG_LEVEL"]
    assert str(caught.value).count("environment: ") == 4


def test_settings_remember_the_api_key_and_the_redis_password_as_secrets() -> None:
    key, password = f"key-{uuid.uuid4().hex}", f"pw-{uuid.uuid4().hex}"
    environ = {
        "STATUS_API_KEY": key,
        "REDIS_URL": f"redis://:{password}@cache.test:6379/0",
    }

    Settings.from_environ(environ)

    line = scrub(f"sent {key}; AUTH {password} refused")
    assert line == f"sent {MASK}; AUTH {MASK} refused"
