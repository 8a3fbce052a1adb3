"""Check the wiring's part in keeping secrets: credentials remembered at config load."""

from __future__ import annotations

import uuid
from pathlib import Path

from shared.redact import MASK, scrub
from statusd.wiring import credential_variables, load_config

QUOTA_SERVICE = """
[services.geminiApi]
kind = "gemini"
[services.geminiApi.quota]
daily_limit = 1000
redis_key = "gemini:{date}"
redis_url_env = "APP_REDIS_URL"

[services.llumaAi]
kind = "json_api"
api_key_env = "LLUMA_API_KEY"
base_url_env = "LLUMA_BASE_URL"
"""


def fresh(prefix: str) -> str:
    """A value no other test has remembered: the set of secrets is process-wide."""
    return f"{prefix}-{uuid.uuid4().hex}"


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "statusd.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_it_lists_the_variables_of_every_env_option_but_the_base_url() -> None:
    config = load_config(environ={})

    named = {
        service.name: credential_variables(service.options)
        for service in config.services
    }

    assert named["groqCloud"] == ["GROQ_API_KEY"]
    assert named["sqlDatabase"] == ["DATABASE_URL"]
    assert named["llumaAi"] == ["LLUMA_API_KEY"]


def test_it_finds_the_variables_of_a_nested_table(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, QUOTA_SERVICE), environ={})

    variables = credential_variables(config.service("geminiApi").options)

    assert set(variables) == {"GEMINI_API_KEY", "APP_REDIS_URL", "DATABASE_URL"}


def test_loading_the_config_remembers_the_credentials_before_any_probe_runs(
    tmp_path: Path,
) -> None:
    key, password = fresh("sk"), fresh("pw")
    base_url = f"http://{fresh('lluma')}.test"
    environ = {
        "LLUMA_API_KEY": key,
        "APP_REDIS_URL": f"redis://:{password}@127.0.0.1:6379/0",
        "LLUMA_BASE_URL": base_url,
    }

    load_config(write(tmp_path, QUOTA_SERVICE), environ=environ)

    line = scrub(f"refused {key} and {password} at {base_url}")
    assert line == f"refused {MASK} and {MASK} at {base_url}"
