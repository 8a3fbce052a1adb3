"""The five vendors as tests see them: imitation, credential, and probe options.

A `Rig` is one running imitation plus a way to build the matching probe from a
configuration document, the way the collector does, so every test goes through
the same option validation as a real TOML file.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from collector import probes
from collector.probes import Deadline, ProbeContext
from collector.probes.vendor import VendorProbe
from shared.config import ServiceConfig, parse
from shared.model import ProbeResult
from shared.store import StatusStore
from statusd.imitations import (
    GeminiImitation,
    GroqImitation,
    Imitation,
    InstagramImitation,
    LlumaImitation,
    Mode,
    PineconeImitation,
    RecordedRequest,
    Reply,
)

SERVICE = "vendorUnderTest"


@dataclass(frozen=True)
class Vendor:
    name: str
    kind: str
    imitation: type[Imitation]
    key_env: str
    secret: str
    # Options that point the probe at a running imitation.
    locate: Callable[[Imitation], dict[str, Any]]
    # What a healthy check of the imitation's defaults measures.
    healthy_values: Callable[[Imitation], dict[str, Any]]
    # Seconds the vendor asks to wait when rate limited; None: it does not say.
    advertised_wait: Callable[[Imitation], float | None]
    # Values known from the configuration, reported whatever the outcome.
    configured: dict[str, Any] = field(default_factory=dict)


def _instagram_values(imitation: Imitation) -> dict[str, Any]:
    usage = imitation.usage  # type: ignore[attr-defined]
    return {"rate_limit_remaining_pct": 100.0 - max(usage.values())}


VENDORS: dict[str, Vendor] = {
    vendor.name: vendor
    for vendor in (
        Vendor(
            "instagram",
            "instagram",
            InstagramImitation,
            "INSTAGRAM_ACCESS_TOKEN",
            "SECRET-INSTAGRAM-4f1c9e77a2",
            lambda imitation: {"base_url": imitation.url},
            _instagram_values,
            lambda imitation: 60.0 * imitation.regain_minutes,  # type: ignore[attr-defined]
        ),
        Vendor(
            "groq",
            "groq",
            GroqImitation,
            "GROQ_API_KEY",
            "SECRET-GROQ-8d02b6c3e9",
            lambda imitation: {"base_url": f"{imitation.url}/openai"},
            # A few calls of the imitation's 14,400 a day round to none used.
            lambda imitation: {
                "model": "llama-3.1-70b",
                "rate_limit_remaining_pct": 100.0,
            },
            lambda imitation: float(imitation.retry_after),  # type: ignore[attr-defined]
            {"model": "llama-3.1-70b"},
        ),
        Vendor(
            "gemini",
            "gemini",
            GeminiImitation,
            "GEMINI_API_KEY",
            "SECRET-GEMINI-5a7e3d10fb",
            lambda imitation: {"base_url": imitation.url},
            lambda imitation: {},
            lambda imitation: float(imitation.retry_delay),  # type: ignore[attr-defined]
        ),
        Vendor(
            "pinecone",
            "pinecone",
            PineconeImitation,
            "PINECONE_API_KEY",
            "SECRET-PINECONE-c6b84f0d13",
            lambda imitation: {"base_url": imitation.url},
            lambda imitation: {
                "index": "social-vectors",
                "total_vectors": imitation.total_vectors,  # type: ignore[attr-defined]
            },
            lambda imitation: None,
            {"index": "social-vectors"},
        ),
        Vendor(
            "lluma",
            "json_api",
            LlumaImitation,
            "LLUMA_API_KEY",
            "SECRET-LLUMA-19e5a2c7d4",
            lambda imitation: {
                "base_url": imitation.url,
                "api_key_env": "LLUMA_API_KEY",
                "auth_header": imitation.auth_header,  # type: ignore[attr-defined]
            },
            lambda imitation: {"model_version": imitation.model_version},  # type: ignore[attr-defined]
            lambda imitation: float(imitation.retry_after),  # type: ignore[attr-defined]
        ),
    )
}


class Rig:
    """One vendor's running imitation, and probes configured to call it."""

    def __init__(self, vendor: Vendor, imitation: Imitation):
        self.vendor = vendor
        self.imitation = imitation
        self.environ = {vendor.key_env: vendor.secret}

    def service(
        self, *, timeout: float = 2.0, interval: float = 60.0, **options: Any
    ) -> ServiceConfig:
        entry = {
            "kind": self.vendor.kind,
            "timeout": timeout,
            "interval": interval,
            **self.vendor.locate(self.imitation),
            **options,
        }
        document = {"services": {SERVICE: entry}}
        return parse(document, "test.toml", probes.option_models()).service(SERVICE)

    def probe(
        self,
        *,
        store: StatusStore | None = None,
        environ: dict[str, str] | None = None,
        timeout: float = 2.0,
        interval: float = 60.0,
        **options: Any,
    ) -> VendorProbe:
        context = ProbeContext(self.environ if environ is None else environ, store)
        service = self.service(timeout=timeout, interval=interval, **options)
        probe = probes.build(service, context)
        assert isinstance(probe, VendorProbe)
        return probe

    def check(self, probe: VendorProbe | None = None, **options: Any) -> ProbeResult:
        probe = probe or self.probe(**options)
        return probe.check(Deadline(probe.service.timeout))

    def calls(self) -> int:
        return len(self.imitation.requests)


def fail_once(imitation: Imitation) -> None:
    """Answer the next call with the vendor's own 5xx, and every later one healthy."""
    answer_error = imitation.server_error

    def once(request: RecordedRequest) -> Reply:
        imitation.mode = Mode.HEALTHY
        return answer_error(request)

    imitation.server_error = once  # type: ignore[method-assign]
    imitation.mode = Mode.SERVER_ERROR


def hang_once(imitation: Imitation) -> threading.Thread:
    """Hold the next call unanswered, like a lost packet; answer later ones."""
    imitation.mode = Mode.HANG
    seen = len(imitation.requests)

    def heal() -> None:
        ends = time.monotonic() + 10
        while len(imitation.requests) == seen and time.monotonic() < ends:
            time.sleep(0.005)
        imitation.mode = Mode.HEALTHY

    thread = threading.Thread(target=heal, daemon=True)
    thread.start()
    return thread


def closed_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
