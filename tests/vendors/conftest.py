"""Fixtures of the vendor probes' tests: the imitations, always stopped afterwards."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Tests import `vendor_kit` as a plain module: this folder has no __init__.py.
sys.path.insert(0, str(Path(__file__).parent))

from vendor_kit import VENDORS, Rig  # noqa: E402


@pytest.fixture
def rig_of() -> Iterator[Callable[[str], Rig]]:
    """Start a vendor's imitation on demand; every one is stopped after the test."""
    started: list[Rig] = []

    def start(name: str) -> Rig:
        vendor = VENDORS[name]
        rig = Rig(vendor, vendor.imitation(vendor.secret).start())
        started.append(rig)
        return rig

    yield start
    for rig in started:
        rig.imitation.stop()


@pytest.fixture(params=sorted(VENDORS))
def rig(request: pytest.FixtureRequest, rig_of: Callable[[str], Rig]) -> Rig:
    """Each vendor in turn, its imitation healthy."""
    return rig_of(request.param)
