"""Check `api.wsgi`, the module `gunicorn 'api.wsgi:app'` imports: app or clear exit."""

from __future__ import annotations

import importlib
import logging
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from flask import Flask

from shared.redact import MASK, RedactingFormatter, scrub

VARIABLES = ("STATUSD_CONFIG", "REDIS_URL", "STATUS_API_KEY", "PORT", "LOG_LEVEL")


@pytest.fixture(autouse=True)
def clean_import(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Import the module afresh in a known environment; undo its logging set-up."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    sys.modules.pop("api.wsgi", None)
    yield
    sys.modules.pop("api.wsgi", None)
    root.handlers[:] = handlers
    root.setLevel(level)


def import_wsgi() -> ModuleType:
    return importlib.import_module("api.wsgi")


def test_it_builds_the_app_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = f"key-{uuid.uuid4().hex}"
    # Nothing listens there, and nothing needs to: the app connects on request.
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("STATUS_API_KEY", key)

    app = import_wsgi().app

    assert isinstance(app, Flask)
    assert app.test_client().get("/api/system-status").status_code == 401
    assert app.test_client().get("/healthz").status_code == 200


def test_its_log_lines_are_scrubbed_and_its_key_is_a_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = f"key-{uuid.uuid4().hex}"
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("STATUS_API_KEY", key)

    import_wsgi()

    formatters = [handler.formatter for handler in logging.getLogger().handlers]
    assert [type(formatter) for formatter in formatters] == [RedactingFormatter]
    assert scrub(f"header {key}") == f"header {MASK}"


def test_a_bad_configuration_exits_naming_the_file_and_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "statusd.toml"
    path.write_text('[services.db]\nkind = "sql"\nintervall = 30\n', encoding="utf-8")
    monkeypatch.setenv("STATUSD_CONFIG", str(path))
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")

    with pytest.raises(SystemExit) as caught:
        import_wsgi()

    message = str(caught.value.code)
    assert message.startswith("statusd: configuration error\n")
    assert f"{path}: services.db.intervall: unknown key" in message
    assert "api.wsgi" not in sys.modules


def test_without_redis_url_it_exits_saying_so() -> None:
    with pytest.raises(SystemExit) as caught:
        import_wsgi()

    assert "environment: REDIS_URL: is not set" in str(caught.value.code)
