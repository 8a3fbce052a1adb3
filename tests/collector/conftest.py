"""Fixtures of the collector's tests: local upstreams that are always stopped."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

# The tests import `upstreams.py` beside this file as `collector_upstreams`: this folder
# has no __init__.py, and tests/integration has an `upstreams` module of its own, so
# the plain name on sys.path would give one folder the other's module in a full run.
UPSTREAMS_MODULE = "collector_upstreams"


def _load_upstreams() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        UPSTREAMS_MODULE, Path(__file__).with_name("upstreams.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs: its dataclasses look their module up by name.
    sys.modules[UPSTREAMS_MODULE] = module
    spec.loader.exec_module(module)
    return module


upstreams = _load_upstreams()


@pytest.fixture
def serve() -> Iterator[Callable[[upstreams.Behaviour], upstreams.Upstream]]:
    """Start upstreams on demand; every one is stopped after the test."""
    started: list[upstreams.Upstream] = []

    def start(behaviour: upstreams.Behaviour) -> upstreams.Upstream:
        upstream = upstreams.Upstream(behaviour).start()
        started.append(upstream)
        return upstream

    yield start
    for upstream in started:
        upstream.stop()
