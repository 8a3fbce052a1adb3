"""Check `statusd`'s command line: argument bounds, a busy port, a closed pipe.

It lives beside the configuration's tests because the CLI's errors are mostly
theirs: a bad value ends in one line and an exit code, never a traceback.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from statusd import cli


@pytest.fixture(autouse=True)
def cli_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run the CLI in a clean environment and undo its logging set-up afterwards."""
    for name in ("PORT", "STATUSD_CONFIG", "LOG_LEVEL", "REDIS_URL", "STATUS_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something else listens on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.fixture
def gunicorn_runs(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record the calls that would start gunicorn, instead of starting it."""
    calls: list[dict[str, Any]] = []

    def record(app: object, host: str, port: int, *, workers: int) -> None:
        calls.append({"host": host, "port": port, "workers": workers})

    monkeypatch.setattr("statusd.server.serve_with_gunicorn", record)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # never connected to
    return calls


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--port", "65536"],
        ["serve", "--port", "-1"],
        ["serve", "--port", "\u00b2"],
        ["serve", "--port", "80.5"],
        ["up", "--port", "99999"],
        ["up", "--redis-port", "65536"],
        ["demo", "--port", "70000"],
        ["serve", "--workers", "0"],
        ["serve", "--workers", "-3"],
        ["serve", "--workers", "two"],
    ],
    ids=" ".join,
)
def test_it_refuses_a_number_out_of_range_with_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(argv)

    err = capsys.readouterr().err
    assert caught.value.code == 2
    assert f"argument {argv[1]}: {argv[2]!r} is not" in err


@pytest.mark.parametrize(
    ("argv", "port", "workers"),
    [
        (["serve", "--port", "0", "--workers", "1"], 0, 1),
        (["serve", "--port", "65535", "--workers", "8"], 65535, 8),
    ],
)
def test_it_accepts_the_bounds_of_each_number(
    argv: list[str], port: int, workers: int, gunicorn_runs: list[dict[str, Any]]
) -> None:
    assert cli.main([*argv, "--host", "127.0.0.1"]) == 0

    assert gunicorn_runs == [{"host": "127.0.0.1", "port": port, "workers": workers}]


def test_serve_on_a_busy_port_exits_4_before_starting_gunicorn(
    busy_port: int,
    gunicorn_runs: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = cli.main(["serve", "--host", "127.0.0.1", "--port", str(busy_port)])

    err = capsys.readouterr().err
    assert code == cli.EXIT_START == 4
    assert f"statusd: cannot start: cannot listen on 127.0.0.1:{busy_port}" in err
    assert "Traceback" not in err
    assert gunicorn_runs == []


def test_check_ends_quietly_when_the_reader_of_its_output_has_gone(
    capsys: pytest.CaptureFixture[str],
) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # as `statusd check | head -1` once head has its line
    # Closing the file raises if output that main left behind still hits the pipe.
    with open(write_end, "w") as closed_pipe:
        captured, sys.stdout = sys.stdout, closed_pipe
        try:
            code = cli.main(["check"])
        finally:
            sys.stdout = captured

    assert code == cli.EXIT_BROKEN_PIPE
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("variable", "value", "key"),
    [
        ("PORT", "\u00b2", "PORT"),
        ("REDIS_URL", "redis://127.0.0.1/abc", "REDIS_URL"),
        ("STATUS_API_KEY", "cl\u00e9-123456", "STATUS_API_KEY"),
    ],
)
def test_a_bad_environment_variable_exits_3_naming_it(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    key: str,
) -> None:
    monkeypatch.setenv(variable, value)

    code = cli.main(["check"])

    err = capsys.readouterr().err
    assert code == cli.EXIT_CONFIG
    assert f"environment: {key}:" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("url", "location"),
    [
        ("redis://cache.test", "cache.test:6379/0"),
        ("redis://:pw-123456@cache.test:6380/4", "cache.test:6380/4"),
        ("rediss://user:pw-123456@cache.test/2?db=5", "cache.test:6379/5"),
        ("redis://[::1]:6379/1", "[::1]:6379/1"),
        ("unix:///run/redis.sock", "/run/redis.sock (socket), database 0"),
        (
            "unix://:pw-123456@/run/redis.sock?db=3",
            "/run/redis.sock (socket), database 3",
        ),
    ],
)
def test_redis_location_names_the_server_and_database_without_credentials(
    url: str, location: str
) -> None:
    assert cli.redis_location(url) == location
