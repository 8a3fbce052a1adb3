"""Render the status page in a real headless Chromium and read what it shows.

The real app runs on a real socket over fakeredis; Chromium loads `/`, runs the
page's script against `/api/system-status`, and dumps the DOM it built.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import fakeredis
import pytest

from api.app import create_app
from shared.config import Config, parse
from shared.defaults import default_document
from shared.model import ProbeResult, StoredResult, to_iso, utcnow
from shared.store import StatusStore, connect
from statusd.server import BackgroundServer

pytestmark = pytest.mark.browser

IN_CI = os.environ.get("CI", "").lower() == "true"

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

# A reason comes from an outside service: the page must show it as text only.
HOSTILE_REASON = "slow <img src=x onerror=\"document.title='pwned'\"> answer"

HUMAN_NAMES = {
    "instaGraphApi": "Instagram Graph API",
    "webhooksConfig": "Webhooks",
    "sqlDatabase": "SQL database",
    "groqCloud": "Groq Cloud",
    "pinecone": "Pinecone",
    "scheduler": "Scheduler",
    "automation": "Automation",
    "geminiApi": "Gemini API",
    "llumaAi": "Lluma AI",
    "billingApi": "billingApi",
}


# Chromium and the app ------------------------------------------------------------


def unavailable(what: str, problem: str) -> None:
    # The rule of tests/conftest.py: skip locally, fail under CI.
    message = f"{what} is not available ({problem})"
    if IN_CI:
        pytest.fail(f"{message}; CI must provide it", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.access(path, os.X_OK):
        unavailable("Chromium", f"no executable at {path}")
    return path


@pytest.fixture
def browse(chromium: str, tmp_path: Path) -> Callable[..., str]:
    """Load a URL in headless Chromium; return the DOM after the page's script ran."""

    def load(url: str, *extra: str, budget_ms: int = 5000) -> str:
        command = [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--virtual-time-budget={budget_ms}",
            *extra,
            url,
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=90)
        assert done.returncode == 0, f"chromium failed: {done.stderr[-2000:]}"
        return done.stdout

    return load


@contextmanager
def serving(store: StatusStore, api_key: str | None = None) -> Iterator[str]:
    app = create_app(page_config(), store, api_key=api_key)
    server = BackgroundServer(app, "127.0.0.1", 0).start()
    try:
        yield server.url + "/"
    finally:
        server.stop()


def page_config() -> Config:
    """The contract's nine services plus one the page has no name for."""
    document = default_document({})
    document["services"]["billingApi"] = {"kind": "http", "url": "http://billing"}
    return parse(document, "<browser test>")


# What the store holds ------------------------------------------------------------


def stored(service: str, result: ProbeResult, age_s: float = 5) -> StoredResult:
    checked = utcnow() - timedelta(seconds=age_s)
    return StoredResult(service, "http", result.stamped(checked), since=checked)


def ago(seconds: float) -> str:
    return to_iso(utcnow() - timedelta(seconds=seconds)) or ""


def in_(seconds: float) -> str:
    return to_iso(utcnow() + timedelta(seconds=seconds)) or ""


def write_results(store: StatusStore) -> None:
    """Every status there is, across nine services; llumaAi is never checked."""
    store.write_many(
        [
            stored(
                "instaGraphApi",
                ProbeResult.operational(142, rate_limit_remaining_pct=87),
            ),
            stored(
                "webhooksConfig",
                ProbeResult.operational(active_hooks=3, last_event_at=ago(120)),
            ),
            stored(
                "sqlDatabase",
                ProbeResult.down("connection refused by db.internal:5432"),
            ),
            stored("groqCloud", ProbeResult.operational(234, model="llama-3.1-70b")),
            stored(
                "pinecone",
                ProbeResult.operational(
                    45, index="social-vectors", total_vectors=12847
                ),
            ),
            stored(
                "scheduler",
                ProbeResult.operational(jobs_queued=7, next_run_at=in_(15 * 60)),
            ),
            stored(
                "automation",
                ProbeResult.degraded(
                    "7 failures in the last hour",
                    last_triggered_at=ago(300),
                    success_rate_pct=94,
                ),
                age_s=12,
            ),
            stored("geminiApi", ProbeResult.degraded(HOSTILE_REASON, 1890)),
            stored("billingApi", ProbeResult.operational(80)),
        ]
    )


class LosesRedisAfterOneRead(StatusStore):
    """A store whose Redis goes away once the first status has been served."""

    def __init__(self) -> None:
        self.server = fakeredis.FakeServer()
        super().__init__(fakeredis.FakeRedis(server=self.server, decode_responses=True))
        self.reads = 0

    def read_many(self, services: list[str]) -> dict[str, StoredResult | None]:
        self.reads += 1
        if self.reads == 2:
            self.server.connected = False
        return super().read_many(services)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# Reading the DOM -----------------------------------------------------------------

VOID = {"meta", "link", "input", "br", "img", "hr", "source", "area", "col", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list[Any] = field(default_factory=list)

    def text(self) -> str:
        parts = [
            child if isinstance(child, str) else child.text() for child in self.children
        ]
        return " ".join(" ".join(parts).split())

    def all(self, match: Callable[[Node], bool]) -> list[Node]:
        found = []
        for child in self.children:
            if isinstance(child, Node):
                if match(child):
                    found.append(child)
                found.extend(child.all(match))
        return found

    def one(self, match: Callable[[Node], bool]) -> Node:
        found = self.all(match)
        assert len(found) == 1, f"expected one match, found {len(found)}"
        return found[0]

    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.open[-1].children.append(node)
        if tag not in VOID:
            self.open.append(node)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth].tag == tag:
                del self.open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.open[-1].children.append(data)


def parse_dom(html: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def by_id(root: Node, element_id: str) -> Node:
    return root.one(lambda node: node.attrs.get("id") == element_id)


def with_class(root: Node, name: str) -> Node:
    return root.one(lambda node: name in node.classes())


def service_rows(root: Node) -> dict[str, Node]:
    rows = by_id(root, "service-rows").all(lambda node: node.tag == "tr")
    return {
        row.attrs["data-service"] or "": row
        for row in rows
        if "data-service" in row.attrs
    }


def fields_of(row: Node) -> dict[str, str]:
    items = row.all(lambda node: "field" in node.classes())
    return {
        item.one(lambda n: n.tag == "dt").text(): item.one(
            lambda n: n.tag == "dd"
        ).text()
        for item in items
    }


def is_hidden(node: Node) -> bool:
    return "hidden" in node.attrs


# Tests ---------------------------------------------------------------------------


def test_it_shows_every_service_with_its_status_fields_and_reason(
    browse: Callable[..., str], tmp_path: Path
) -> None:
    store = StatusStore(fakeredis.FakeRedis(decode_responses=True))
    write_results(store)

    with serving(store) as url:
        dom = parse_dom(browse(url, "--dump-dom"))
        screenshot = tmp_path / "status-page.png"
        browse(url, f"--screenshot={screenshot}", "--window-size=1200,900")

    rows = service_rows(dom)
    assert list(rows) == list(HUMAN_NAMES)
    for service, row in rows.items():
        assert row.one(lambda n: n.tag == "th").text() == HUMAN_NAMES[service]

    words = {name: with_class(row, "badge-word").text() for name, row in rows.items()}
    assert words == {
        "instaGraphApi": "operational",
        "webhooksConfig": "operational",
        "sqlDatabase": "down",
        "groqCloud": "operational",
        "pinecone": "operational",
        "scheduler": "operational",
        "automation": "degraded",
        "geminiApi": "degraded",
        "llumaAi": "unknown",
        "billingApi": "operational",
    }
    assert with_class(by_id(dom, "overall"), "badge-word").text() == "down"

    assert fields_of(rows["pinecone"]) == {
        "Index": "social-vectors",
        "Total vectors": "12,847",
        "Latency": "45ms",
    }
    assert fields_of(rows["scheduler"])["Next run"] == "15m"
    assert fields_of(rows["webhooksConfig"]) == {
        "Active hooks": "3",
        "Last event": "2m ago",
    }
    assert fields_of(rows["billingApi"]) == {"Latency": "80ms"}

    assert (
        with_class(rows["automation"], "reason").text() == "7 failures in the last hour"
    )
    assert with_class(rows["llumaAi"], "reason").text() == "never checked"
    assert with_class(rows["pinecone"], "reason").text() == "—"

    # The hostile reason arrives as words; no element was made from it.
    assert with_class(rows["geminiApi"], "reason").text() == HOSTILE_REASON
    assert dom.all(lambda node: node.tag == "img") == []

    age = with_class(rows["automation"], "age").text()
    seconds = re.fullmatch(r"checked (\d+)s ago", age)
    assert seconds and 10 <= int(seconds[1]) < 60, age
    assert with_class(rows["llumaAi"], "age").text() == "not checked"

    assert is_hidden(by_id(dom, "banner"))
    assert is_hidden(by_id(dom, "key-form"))
    assert by_id(dom, "refreshed").text().startswith("Last refreshed at")
    assert screenshot.read_bytes().startswith(b"\x89PNG")


def test_it_shows_a_banner_when_the_status_store_is_unreachable(
    browse: Callable[..., str],
) -> None:
    store = StatusStore(connect(f"redis://127.0.0.1:{closed_port()}/0", timeout=0.5))

    with serving(store) as url:
        dom = parse_dom(browse(url, "--dump-dom"))

    banner = by_id(dom, "banner")
    assert not is_hidden(banner)
    assert "status store is unreachable" in banner.text()
    assert "Retrying" in banner.text()
    assert service_rows(dom) == {}
    assert "stale" in by_id(dom, "status-region").classes()


def test_it_keeps_the_last_data_greyed_when_the_store_goes_away(
    browse: Callable[..., str],
) -> None:
    store = LosesRedisAfterOneRead()
    write_results(store)

    with serving(store) as url:
        # Long enough for the second poll, five seconds after the first.
        dom = parse_dom(browse(url, "--dump-dom", budget_ms=8000))

    assert store.reads >= 2
    banner = by_id(dom, "banner")
    assert not is_hidden(banner)
    assert "status store is unreachable" in banner.text()
    assert "The data below is from" in banner.text()
    assert len(service_rows(dom)) == len(HUMAN_NAMES)
    assert "stale" in by_id(dom, "status-region").classes()


def test_it_asks_for_the_api_key_when_the_api_needs_one(
    browse: Callable[..., str],
) -> None:
    store = StatusStore(fakeredis.FakeRedis(decode_responses=True))
    write_results(store)

    with serving(store, api_key="page-test-key") as url:
        dom = parse_dom(browse(url, "--dump-dom"))

    form = by_id(dom, "key-form")
    assert not is_hidden(form)
    assert "needs a key" in by_id(dom, "key-message").text()
    key_input = by_id(dom, "key-input")
    assert key_input.attrs.get("type") == "password"
    assert by_id(dom, "banner").text() == ""
    assert service_rows(dom) == {}


def test_it_serves_the_page_without_a_key_and_only_from_its_own_origin() -> None:
    store = StatusStore(fakeredis.FakeRedis(decode_responses=True))
    client = create_app(page_config(), store, api_key="page-test-key").test_client()

    page = client.get("/")
    script = client.get("/assets/status.js")

    assert page.status_code == 200
    assert page.mimetype == "text/html"
    assert script.status_code == 200
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert client.get("/api/system-status").status_code == 401
