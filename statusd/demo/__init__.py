"""`statusd demo`: all nine services live, with no credentials and nothing real.

It starts a local imitation of each vendor API, a SQLite database of the host
app's tables that fills over time, the embedded Redis, the collector and the API,
then plays a script of things going wrong (`statusd.demo.script`). The collector
and the API are the real ones, configured like production but pointed at the
imitations and probing every few seconds.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, cast

from shared.config import Settings
from shared.model import utcnow
from statusd.demo.hostapp import DemoHostApp
from statusd.demo.script import CYCLE_SECONDS, Script
from statusd.imitations import VENDORS, Imitation, LlumaImitation

log = logging.getLogger(__name__)

BANNER = """\
================================================================
 statusd DEMO: every service below is a local imitation.
 Nothing here is real: no vendor is called, no credential used.
================================================================"""

NOTICE = "DEMO: every service here is a local imitation; nothing is real."

# Pretend credentials: the imitations accept exactly these.
CREDENTIALS = {
    "instagram": ("DEMO_INSTAGRAM_TOKEN", "demo-instagram-token"),
    "groq": ("DEMO_GROQ_KEY", "demo-groq-key"),
    "gemini": ("DEMO_GEMINI_KEY", "demo-gemini-key"),
    "pinecone": ("DEMO_PINECONE_KEY", "demo-pinecone-key"),
    "lluma": ("DEMO_LLUMA_KEY", "demo-lluma-key"),
}

QUOTA_KEY = "demo:gemini:requests:{date}"
DAILY_QUOTA = 1500
TICK_SECONDS = 1.0


class Stage:
    """What the demo runs: the imitations, the pretend host app, the Redis it uses."""

    def __init__(
        self, imitations: dict[str, Imitation], hostapp: DemoHostApp, redis_url: str
    ):
        import redis

        self.imitations = imitations
        self.hostapp = hostapp
        self.redis = redis.Redis.from_url(redis_url, decode_responses=True)

    def add_quota_use(self, requests: int) -> None:
        """The host app's own counter of Gemini requests today, which the probe reads."""
        if requests:
            key = QUOTA_KEY.format(date=utcnow().date().isoformat())
            self.redis.incrby(key, requests)
            self.redis.expire(key, 2 * 86400)


class Demo:
    """Everything the demo runs, started and stopped as one; tests drive it directly."""

    def __init__(self, settings: Settings, host: str = "127.0.0.1", port: int = 0):
        self.settings = settings
        self.host = host
        self.port = port
        self.cleanup = ExitStack()
        self.stopping = threading.Event()

    def start(self, *, play_script: bool = True) -> Demo:
        try:
            self._start(play_script)
        except BaseException:
            self.cleanup.close()
            raise
        return self

    def _start(self, play_script: bool) -> None:
        from statusd.embedded import EmbeddedRedis
        from statusd.server import BackgroundServer
        from statusd.wiring import build_api, build_collector, load_config

        cleanup = self.cleanup
        workdir = Path(
            cleanup.enter_context(tempfile.TemporaryDirectory(prefix="statusd-demo-"))
        )
        self.imitations = start_imitations(cleanup)
        self.redis = EmbeddedRedis(port=0).start()
        cleanup.callback(self.redis.stop)

        database_url = f"sqlite:///{workdir / 'hostapp.sqlite3'}"
        self.hostapp = DemoHostApp(database_url)
        self.hostapp.create(utcnow())
        cleanup.callback(self.hostapp.close)

        environ = demo_environment(database_url, self.redis.url)
        config_path = workdir / "statusd-demo.toml"
        config_path.write_text(demo_config(self.imitations))
        self.config = load_config(str(config_path), environ)

        api = build_api(self.config, self.redis.url, self.settings, notice=NOTICE)
        self.server = BackgroundServer(api, self.host, self.port).start()
        cleanup.callback(self.server.stop)
        self.collector = build_collector(self.config, self.redis.url, environ)
        self.collector.start()
        cleanup.callback(self.collector.stop)

        self.stage = Stage(self.imitations, self.hostapp, self.redis.url)
        self.script = Script(self.stage)
        if play_script:
            player = threading.Thread(
                target=play,
                args=(self.script, self.stopping),
                name="demo-script",
                daemon=True,
            )
            player.start()
        cleanup.callback(self.stopping.set)

    def stop(self) -> None:
        self.cleanup.close()


def run_demo(args: argparse.Namespace, settings: Settings) -> int:
    from statusd.cli import _announce, _port

    print(BANNER, flush=True)
    demo = Demo(settings, args.host, _port(args, settings)).start()
    try:
        _announce(demo.config, demo.server.url, demo.redis)
        minutes = CYCLE_SECONDS / 60
        print(
            f"status page: {demo.server.url}/  (the script repeats every {minutes:g} min)",
            flush=True,
        )
        args.stop.wait()
    finally:
        demo.stop()
    return 0


def start_imitations(cleanup: ExitStack) -> dict[str, Imitation]:
    imitations = {}
    for vendor, (_, secret) in CREDENTIALS.items():
        imitation = VENDORS[vendor](secret).start()
        cleanup.callback(imitation.stop)
        imitations[vendor] = imitation
    # VENDORS maps "lluma" to LlumaImitation, the class that has `auth_header`.
    cast(LlumaImitation, imitations["lluma"]).auth_header = "X-Lluma-Key"
    return imitations


def play(script: Script, stop: threading.Event) -> None:
    """Run the script once a second until the demo stops; a failing step is logged."""
    started = time.monotonic()
    while not stop.wait(TICK_SECONDS):
        try:
            script.step(time.monotonic() - started, utcnow(), TICK_SECONDS)
        except Exception:  # noqa: BLE001 - the demo goes on if one step fails
            log.exception("demo: a step of the script failed")


def demo_environment(database_url: str, redis_url: str) -> dict[str, str]:
    environ = {name: secret for name, secret in CREDENTIALS.values()}
    environ["DATABASE_URL"] = database_url
    environ["DEMO_REDIS_URL"] = redis_url
    return environ


def demo_config(imitations: dict[str, Imitation]) -> str:
    """The demo's configuration file: production's services, pointed at the imitations."""
    urls: dict[str, Any] = {
        vendor: imitation.url for vendor, imitation in imitations.items()
    }
    return DEMO_CONFIG.format(**urls, quota_key=QUOTA_KEY, daily_quota=DAILY_QUOTA)


# Production's nine services, probing every few seconds so that changes show
# quickly. It is filled in with str.format.
DEMO_CONFIG = """\
[collector]
heartbeat_interval = 2
heartbeat_ttl = 10

[services.instaGraphApi]
kind = "instagram"
interval = 5
timeout = 3
api_key_env = "DEMO_INSTAGRAM_TOKEN"
base_url = "{instagram}"

[services.webhooksConfig]
kind = "webhooks"
interval = 5
timeout = 3

[services.sqlDatabase]
kind = "sql"
interval = 5
timeout = 3

[services.groqCloud]
kind = "groq"
interval = 5
timeout = 3
api_key_env = "DEMO_GROQ_KEY"
base_url = "{groq}/openai"
model = "llama-3.1-70b"

[services.pinecone]
kind = "pinecone"
interval = 5
timeout = 3
api_key_env = "DEMO_PINECONE_KEY"
base_url = "{pinecone}"
index = "social-vectors"

[services.scheduler]
kind = "scheduler"
interval = 5
timeout = 3
overdue_grace = 20

[services.automation]
kind = "automation"
interval = 5
timeout = 3

[services.geminiApi]
kind = "gemini"
interval = 5
timeout = 3
api_key_env = "DEMO_GEMINI_KEY"
base_url = "{gemini}"

[services.geminiApi.quota]
daily_limit = {daily_quota}
redis_url_env = "DEMO_REDIS_URL"
redis_key = "{quota_key}"

[services.llumaAi]
kind = "json_api"
interval = 5
timeout = 3
api_key_env = "DEMO_LLUMA_KEY"
base_url = "{lluma}"
path = "/v1/status"
auth_header = "X-Lluma-Key"
auth_scheme = ""
version_field = "model.version"
"""
