"""No secret leaves statusd: every vendor fails in every way, then everything is searched.

The five imitations answer healthy, slow, rejected, 5xx, not JSON, hung, partial and
rate limited, then not at all (stopped), while the collector's own pieces (probes,
runner, recorder) write into Redis and the log, and the API serves what they wrote.
Error answers echo the credential back, as some vendors do. Afterwards every Redis
key and value, every log line (formatted, and each raw record) and every API answer
is searched for each secret: none may appear, whole or in part.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from vendor_kit import VENDORS, closed_port

from api.app import create_app
from collector import probes
from collector.probes import ProbeContext
from collector.probes.vendor import VendorProbe
from collector.recorder import Recorder
from collector.runner import ServiceRunner
from shared.config import Config, parse
from shared.defaults import default_document
from shared.model import ProbeResult, Status, utcnow
from shared.redact import RedactingFormatter
from shared.store import StatusStore
from statusd.imitations import Imitation, Mode, RecordedRequest, Reply

STATUS_API_KEY = "SECRET-STATUSAPI-0b7d2e4c91"
REDIS_PASSWORD = "SECRET-REDISPASS-6e1f0a3b57"

SERVICE_OF = {
    "instagram": "instaGraphApi",
    "groq": "groqCloud",
    "gemini": "geminiApi",
    "pinecone": "pinecone",
    "lluma": "llumaAi",
}

ALL_SECRETS = [vendor.secret for vendor in VENDORS.values()] + [
    STATUS_API_KEY,
    REDIS_PASSWORD,
]


def needles(secret: str) -> list[str]:
    """The whole secret and its random tail, so a cut-off copy is caught too."""
    return [secret, secret.rsplit("-", 1)[1]]


def echoing(imitation: Imitation) -> Imitation:
    """Make every error answer quote back the credential it received."""
    for name in ("rejected", "rate_limited", "server_error", "garbage", "not_found"):
        answer = getattr(imitation, name)
        setattr(imitation, name, _echo(imitation, answer))
    return imitation


def _echo(
    imitation: Imitation, answer: Callable[[RecordedRequest], Reply]
) -> Callable[[RecordedRequest], Reply]:
    def echoed(request: RecordedRequest) -> Reply:
        reply = answer(request)
        credential = imitation.credential(request) or ""
        reply.headers["X-Echo"] = f"key={credential}"
        try:
            document = json.loads(reply.body)
        except ValueError:
            reply.body += f" credential {credential}".encode()
            return reply
        reply.body = json.dumps(_quote_in_messages(document, credential)).encode()
        return reply

    return echoed


def _quote_in_messages(node: Any, credential: str) -> Any:
    if isinstance(node, dict):
        return {
            key: f"{value} (key given: {credential})"
            if key in ("message", "error") and isinstance(value, str)
            else _quote_in_messages(value, credential)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_quote_in_messages(item, credential) for item in node]
    return node


@pytest.fixture
def imitations() -> Iterator[dict[str, Imitation]]:
    started = {
        name: echoing(vendor.imitation(vendor.secret).start())
        for name, vendor in VENDORS.items()
    }
    yield started
    for imitation in started.values():
        imitation.stop()


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every log line as the entry points format it, at DEBUG."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def environment(imitations: dict[str, Imitation]) -> dict[str, str]:
    environ = {vendor.key_env: vendor.secret for vendor in VENDORS.values()}
    return environ | {
        "LLUMA_BASE_URL": imitations["lluma"].url,
        "LLUMA_AUTH_HEADER": "X-Lluma-Key",
        "APP_REDIS_URL": f"redis://:{REDIS_PASSWORD}@127.0.0.1:{closed_port()}/0",
        "STATUS_API_KEY": STATUS_API_KEY,
    }


def configuration(imitations: dict[str, Imitation], environ: dict[str, str]) -> Config:
    """The built-in default's vendor services, pointed at the imitations."""
    services = default_document(environ)["services"]
    where = {
        "instagram": {"base_url": imitations["instagram"].url},
        "groq": {"base_url": imitations["groq"].url + "/openai"},
        "gemini": {
            "base_url": imitations["gemini"].url,
            "quota": {
                "daily_limit": 1500,
                "redis_url_env": "APP_REDIS_URL",
                "redis_key": "gemini:calls:{date}",
            },
        },
        "pinecone": {"base_url": imitations["pinecone"].url},
        "lluma": {},
    }
    document = {
        "services": {
            SERVICE_OF[name]: services[SERVICE_OF[name]]
            # Wide margins both ways: a loaded CI machine must neither make a healthy
            # answer "slow" nor a slow one miss its first try's share of the budget.
            | {"timeout": 2.0, "interval": 60, "degraded_ms": 400}
            | where[name]
            for name in VENDORS
        }
    }
    return parse(document, "<test>", probes.option_models())


class Rounds:
    """The collector's pieces over the five vendors, one round of checks at a time."""

    def __init__(self, config: Config, store: StatusStore, environ: dict[str, str]):
        self.config = config
        self.recorder = Recorder(config, store)
        self.app = create_app(config, store, api_key=STATUS_API_KEY)
        self.answers: list[str] = []
        self.runners = self.make_runners(ProbeContext(environ, store))

    def make_runners(self, context: ProbeContext) -> list[ServiceRunner]:
        stopping = threading.Event()
        return [
            ServiceRunner(
                probes.build(service, context), self.recorder.record, stopping
            )
            for service in self.config.services
        ]

    def run(self) -> dict[str, ProbeResult]:
        """Check every service at once, then read the API; the results by service."""
        results: dict[str, ProbeResult] = {}

        def one(runner: ServiceRunner) -> None:
            result = runner.run_once()
            assert result is not None
            results[runner.service.name] = result

        threads = [threading.Thread(target=one, args=(r,)) for r in self.runners]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.read_api()
        return results

    def read_api(self) -> None:
        client = self.app.test_client()
        for headers in ({"X-API-Key": STATUS_API_KEY}, {"X-API-Key": "wrong"}, {}):
            self.keep(client.get("/api/system-status", headers=headers))
        self.keep(client.get("/healthz"))

    def keep(self, response: Any) -> None:
        headers = "\n".join(f"{name}: {value}" for name, value in response.headers)
        self.answers.append(f"{headers}\n{response.get_data(as_text=True)}")

    def set_clock(self, clock: Callable[[], Any]) -> None:
        for runner in self.runners:
            assert isinstance(runner.probe, VendorProbe)
            runner.probe.clock = clock


def set_modes(imitations: dict[str, Imitation], mode: Mode) -> None:
    for imitation in imitations.values():
        imitation.mode = mode


def statuses(results: dict[str, ProbeResult]) -> set[Status]:
    return {result.status for result in results.values()}


def everything_in_redis(client: redis.Redis) -> list[str]:
    """Every key and every value, whatever its type, as text."""
    texts = []
    for key in client.scan_iter("*"):
        texts += [key, json.dumps(value_of(client, key), default=str)]
    return texts


def value_of(client: redis.Redis, key: str) -> Any:
    kind = client.type(key)
    if kind == "string":
        return client.get(key)
    if kind == "list":
        return client.lrange(key, 0, -1)
    if kind == "hash":
        return client.hgetall(key)
    if kind == "set":
        return sorted(client.smembers(key))
    if kind == "zset":
        return client.zrange(key, 0, -1, withscores=True)
    raise AssertionError(f"unexpected Redis type {kind} of {key}")


def drive_every_failure(
    rounds: Rounds, imitations: dict[str, Imitation], environ: dict[str, str]
) -> None:
    """Every mode, asserting each round really produced what it should."""
    healthy = rounds.run()
    assert healthy["geminiApi"].status is Status.DEGRADED  # its counter's Redis is gone
    assert {healthy[s].status for s in healthy if s != "geminiApi"} == {
        Status.OPERATIONAL
    }

    for imitation in imitations.values():
        imitation.latency = 0.7
    set_modes(imitations, Mode.SLOW)
    assert statuses(rounds.run()) == {Status.DEGRADED}

    for mode in (Mode.REJECTED, Mode.SERVER_ERROR, Mode.GARBAGE, Mode.HANG):
        set_modes(imitations, mode)
        results = rounds.run()
        assert statuses(results) == {Status.DOWN}, mode
        if mode is Mode.REJECTED:
            assert all(
                r.reason.startswith("credential rejected") for r in results.values()
            )  # type: ignore[union-attr]

    set_modes(imitations, Mode.HEALTHY)
    imitations["groq"].models = []  # type: ignore[attr-defined]
    imitations["pinecone"].state = "Initializing"  # type: ignore[attr-defined]
    imitations["instagram"].usage = {"call_count": 95}  # type: ignore[attr-defined]
    # A vendor quoting the key back in a measured field.
    imitations["lluma"].model_version = VENDORS["lluma"].secret  # type: ignore[attr-defined]
    partial = rounds.run()
    echoed = partial.pop("llumaAi")
    assert statuses(partial) == {Status.DEGRADED}
    assert echoed.values["model_version"] == "***"

    set_modes(imitations, Mode.RATE_LIMITED)
    assert statuses(rounds.run()) == {Status.DEGRADED}
    calls = sum(len(imitation.requests) for imitation in imitations.values())
    held = rounds.run()
    assert statuses(held) == {Status.DEGRADED}
    assert calls == sum(len(imitation.requests) for imitation in imitations.values())

    # Stopped vendors, checked by a restarted collector once the back-offs ran out.
    # (Fresh probes: a stopped imitation still answers on open keep-alive sockets.)
    for imitation in imitations.values():
        imitation.stop()
    rounds.runners = rounds.make_runners(ProbeContext(environ, rounds.recorder.store))
    tomorrow = utcnow() + timedelta(days=1)
    rounds.set_clock(lambda: tomorrow)
    assert statuses(rounds.run()) == {Status.DOWN}

    rounds.runners = rounds.make_runners(ProbeContext({}, None))
    assert statuses(rounds.run()) == {Status.UNKNOWN}


def test_no_secret_reaches_redis_the_logs_or_the_api(
    imitations: dict[str, Imitation],
    fake_redis: redis.Redis,
    log_lines: io.StringIO,
    caplog: pytest.LogCaptureFixture,
):
    caplog.set_level(logging.DEBUG)
    environ = environment(imitations)
    rounds = Rounds(
        configuration(imitations, environ), StatusStore(fake_redis), environ
    )

    drive_every_failure(rounds, imitations, environ)

    haystacks = {
        "redis": everything_in_redis(fake_redis),
        "log lines": [log_lines.getvalue()],
        "log records": [record.getMessage() for record in caplog.records],
        "api answers": rounds.answers,
    }
    assert "status operational -> degraded" in log_lines.getvalue()
    assert any(key.startswith("statusd:backoff:") for key in fake_redis.scan_iter())
    for where, texts in haystacks.items():
        assert texts, f"nothing was captured from {where}"
        for secret in ALL_SECRETS:
            for needle in needles(secret):
                found = [text for text in texts if needle in text]
                assert not found, f"{needle} found in {where}: {found[0][:300]}"


def test_each_vendor_gets_its_credential_in_a_header_never_in_the_url(
    imitations: dict[str, Imitation], fake_redis: redis.Redis
):
    environ = environment(imitations)
    rounds = Rounds(
        configuration(imitations, environ), StatusStore(fake_redis), environ
    )
    for mode in (Mode.HEALTHY, Mode.REJECTED, Mode.SERVER_ERROR):
        set_modes(imitations, mode)
        rounds.run()

    for name, imitation in imitations.items():
        secret = VENDORS[name].secret
        assert imitation.requests, f"{name} was never called"
        for request in imitation.requests:
            assert secret not in request.target, name
            assert any(secret in value for value in request.headers.values()), name
