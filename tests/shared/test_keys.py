"""Check that every Redis key reads `statusd:<kind>:<id>` and that bad ids are refused."""

from __future__ import annotations

import re

import pytest

from shared import keys

SHAPE = re.compile(r"^statusd:[a-z]+:[A-Za-z0-9_.-]+$")


@pytest.mark.parametrize(
    "key",
    [
        keys.HEARTBEAT,
        keys.EVENTS,
        keys.service("instaGraphApi"),
        keys.service("my-service_2"),
        keys.backoff("groqCloud"),
    ],
)
def test_every_key_reads_prefix_kind_id(key: str) -> None:
    assert SHAPE.match(key), key


def test_a_service_key_ends_with_the_service_name() -> None:
    assert keys.service("groqCloud") == "statusd:service:groqCloud"
    assert keys.backoff("groqCloud") == "statusd:backoff:groqCloud"


def test_kinds_never_collide() -> None:
    built = {keys.HEARTBEAT, keys.EVENTS, keys.service("a"), keys.backoff("a")}

    assert len(built) == 4


@pytest.mark.parametrize("bad", ["", "a:b", "a b", " a", "a\tb", "a\n", ":"])
@pytest.mark.parametrize("build", [keys.service, keys.backoff])
def test_a_bad_id_is_refused(build: object, bad: str) -> None:
    with pytest.raises(ValueError, match="bad key id"):
        build(bad)  # type: ignore[operator]
