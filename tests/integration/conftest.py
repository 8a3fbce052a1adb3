"""Fixtures of the integration tests: the host app's database on PostgreSQL and SQLite.

`hostapp` (beside this file) builds the host app's tables; tests import it by name,
so this folder goes on `sys.path` (the suite runs with --import-mode=importlib and
has no packages).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))

import hostapp  # noqa: E402

from collector import probes  # noqa: E402
from shared.config import parse  # noqa: E402
from shared.model import ProbeResult  # noqa: E402


@dataclass(frozen=True)
class HostDatabase:
    """A host app database of one test: its URL, an engine on it and its tables."""

    backend: str
    url: str
    engine: sa.Engine
    tables: hostapp.HostTables


@pytest.fixture(params=["postgresql", "sqlite"])
def host_db(request: pytest.FixtureRequest) -> Iterator[HostDatabase]:
    """Yield the host app's tables, empty, in a new PostgreSQL schema or SQLite file."""
    if request.param == "postgresql":
        url, _schema = request.getfixturevalue("pg_schema")
    else:
        path = request.getfixturevalue("tmp_path") / "host.sqlite3"
        url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    yield HostDatabase(request.param, url, engine, hostapp.create(engine))
    engine.dispose()


@pytest.fixture
def pg_host(pg_schema: tuple[str, str]) -> Iterator[HostDatabase]:
    """Yield the host app's tables, empty, in a fresh PostgreSQL schema."""
    url, _schema = pg_schema
    engine = sa.create_engine(url)
    yield HostDatabase("postgresql", url, engine, hostapp.create(engine))
    engine.dispose()


ProbeMaker = Callable[..., probes.Probe]
ProbeRunner = Callable[..., ProbeResult]


@pytest.fixture
def make_probe() -> Iterator[ProbeMaker]:
    """Build one service's probe through the configuration, as the collector does.

    Call it as `make_probe(kind, environ, timeout=..., **options)`; every probe and
    context it made is closed at the end of the test.
    """
    made: list[probes.Probe] = []

    def make(
        kind: str, environ: dict[str, str], *, timeout: float = 5, **options: Any
    ) -> probes.Probe:
        service = {"kind": kind, "interval": 60, "timeout": timeout, **options}
        config = parse(
            {"services": {"probed": service}}, "test", probes.option_models()
        )
        probe = probes.build(config.services[0], probes.ProbeContext(environ=environ))
        made.append(probe)
        return probe

    yield make
    for probe in made:
        probe.close()
        probe.context.close()


@pytest.fixture
def run_probe(make_probe: ProbeMaker) -> ProbeRunner:
    """Build one service's probe (see `make_probe`) and check it once."""

    def run(kind: str, environ: dict[str, str], **settings: Any) -> ProbeResult:
        probe = make_probe(kind, environ, **settings)
        return probe.check(probes.Deadline(probe.service.timeout))

    return run
