"""examples/statusd.toml is the built-in default written out; the two must not drift."""

from __future__ import annotations

from pathlib import Path

from statusd.wiring import load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "statusd.toml"


def test_the_example_file_is_valid_and_equals_the_built_in_default() -> None:
    from_file = load_config(str(EXAMPLE), environ={})
    built_in = load_config(None, environ={})

    assert from_file.services == built_in.services
    assert from_file.collector == built_in.collector
