"""Check that secrets never leave statusd: remembered values, URLs, inline credentials."""

from __future__ import annotations

import logging
import sys
import uuid
from typing import Any

import pytest

from shared.redact import MASK, RedactingFormatter, read_secret, remember, scrub


def fresh_secret() -> str:
    """A value no other test has remembered: the set of secrets is process-wide."""
    return f"sk-{uuid.uuid4().hex}"


def test_a_secret_read_from_the_environment_is_masked_everywhere() -> None:
    secret = fresh_secret()

    value = read_secret({"GROQ_API_KEY": secret}, "GROQ_API_KEY")

    assert value == secret
    assert (
        scrub(f"rejected {secret}; again {secret}") == f"rejected {MASK}; again {MASK}"
    )


def test_an_unset_or_empty_secret_reads_none() -> None:
    assert read_secret({}, "GROQ_API_KEY") is None
    assert read_secret({"GROQ_API_KEY": ""}, "GROQ_API_KEY") is None


def test_text_without_secrets_is_left_alone() -> None:
    text = "credential rejected (HTTP 401) after 142ms"

    assert scrub(text) == text


def test_a_short_value_is_not_treated_as_a_secret() -> None:
    remember("1")
    remember("abcde")

    assert scrub("took 1ms, grade abcde") == "took 1ms, grade abcde"


def test_a_longer_secret_is_masked_before_one_it_contains() -> None:
    short = fresh_secret()
    long = short + "-extended"
    remember(short)
    remember(long)

    assert scrub(f"value {long}") == f"value {MASK}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "GET https://api.example.test/v1/models?key=AIza123&x=2 failed",
            f"GET https://api.example.test/v1/models?{MASK} failed",
        ),
        (
            "HTTP 400 for https://graph.facebook.com/me?access_token=EAAB",
            f"HTTP 400 for https://graph.facebook.com/me?{MASK}",
        ),
        ("with url: /v1/models?key=AIza123", f"with url: /v1/models?{MASK}"),
        ("'/v1/status?token=abc'", f"'/v1/status?{MASK}'"),
    ],
)
def test_a_query_string_is_stripped_from_urls_and_bare_paths(
    text: str, expected: str
) -> None:
    assert scrub(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("redis://user:hunter2@host:6379/0", f"redis://user:{MASK}@host:6379/0"),
        ("redis://:hunter2@host:6379/0", f"redis://:{MASK}@host:6379/0"),
        (
            "cannot connect to postgresql://app:pw@db:5432/app",
            f"cannot connect to postgresql://app:{MASK}@db:5432/app",
        ),
    ],
)
def test_a_url_password_is_masked(text: str, expected: str) -> None:
    assert scrub(text) == expected


def test_a_remembered_url_password_holding_an_at_is_masked_in_pieces() -> None:
    first, second = fresh_secret()[:10], fresh_secret()[:12]
    remember(f"postgres://postgres:{first}@{second}@127.0.0.1:5432/db")
    # What a driver says when it splits the password at its first `@`.
    message = f'could not translate host name "{second}@127.0.0.1" to address'

    scrubbed = scrub(f"{message}; password {first}@{second}; alone {first}")

    assert first not in scrubbed
    assert second not in scrubbed
    assert "127.0.0.1" in scrubbed


def test_short_pieces_of_a_url_password_are_not_remembered() -> None:
    piece = fresh_secret()[:10]
    remember(f"redis://:ab@{piece}@127.0.0.1:6379/0")

    assert scrub(f"host {piece}@127.0.0.1") == f"host {MASK}@127.0.0.1"
    assert scrub("grade ab, ok") == "grade ab, ok"


def test_a_remembered_url_with_an_at_in_its_path_keeps_its_host_readable() -> None:
    password = fresh_secret()
    remember(f"https://user:{password}@api.example.test/v1/@me")

    assert scrub(f"{password} at api.example.test") == f"{MASK} at api.example.test"
    assert scrub("api.example.test/v1/@me") == "api.example.test/v1/@me"


def test_a_url_password_holding_an_at_is_masked_up_to_the_host() -> None:
    text = "cannot reach postgres://postgres:LEAK@pw123456@127.0.0.1:5432/db"

    assert scrub(text) == f"cannot reach postgres://postgres:{MASK}@127.0.0.1:5432/db"


def test_a_url_without_password_keeps_its_user() -> None:
    assert scrub("postgresql://postgres@127.0.0.1/test") == (
        "postgresql://postgres@127.0.0.1/test"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer xyz123", f"Authorization: Bearer {MASK}"),
        ("Authorization: Basic dXNlcjpwYXNz", f"Authorization: Basic {MASK}"),
        ('{"Authorization": "Bearer a.b.c"}', f'{{"Authorization": "Bearer {MASK}"}}'),
        ("api_key=xyz123&foo=1", f"api_key={MASK}&foo=1"),
        ("Api-Key: pcsk_123", f"Api-Key: {MASK}"),
        ("{'x-goog-api-key': 'AIzaXYZ'}", f"{{'x-goog-api-key': '{MASK}'}}"),
        ("access_token=EAAB", f"access_token={MASK}"),
        ("refresh_token: abc", f"refresh_token: {MASK}"),
        ("client_secret=s3", f"client_secret={MASK}"),
        ("DB_PASSWORD=hunter2", f"DB_PASSWORD={MASK}"),
        ("key=abc", f"key={MASK}"),
    ],
)
def test_an_inline_credential_is_masked(text: str, expected: str) -> None:
    assert scrub(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "monkey: banana",
        "the key is ready",
        "max_tokens=100",
        "turnkey=5",
        "ignoring unreadable result key=statusd:service:groqCloud",
    ],
)
def test_words_that_merely_look_like_credential_names_are_kept(text: str) -> None:
    assert scrub(text) == text


def make_record(message: str, *args: object, exc_info: Any = None) -> logging.LogRecord:
    return logging.LogRecord(
        "test", logging.WARNING, __file__, 1, message, args, exc_info
    )


def test_the_formatter_scrubs_message_arguments() -> None:
    secret = fresh_secret()
    remember(secret)
    formatter = RedactingFormatter("%(levelname)s %(message)s")

    line = formatter.format(make_record("probe failed url=%s key=%s", "/m?k=1", secret))

    assert line == f"WARNING probe failed url=/m?{MASK} key={MASK}"


def test_the_formatter_scrubs_tracebacks() -> None:
    secret = fresh_secret()
    remember(secret)
    try:
        raise RuntimeError(f"refused with {secret} at https://x.test/a?token=t0k3n")
    except RuntimeError:
        record = make_record("probe crashed", exc_info=sys.exc_info())

    line = RedactingFormatter().format(record)

    assert "Traceback" in line and "RuntimeError" in line
    assert secret not in line
    assert "t0k3n" not in line
