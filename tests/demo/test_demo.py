"""The demo: all nine services measured by their own probes, changing as the script says."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from shared.config import Settings
from statusd.demo import Demo
from statusd.demo.script import EPISODES
from statusd.imitations import Mode

CONTRACT_KINDS = {
    "instaGraphApi": "instagram",
    "webhooksConfig": "webhooks",
    "sqlDatabase": "sql",
    "groqCloud": "groq",
    "pinecone": "pinecone",
    "scheduler": "scheduler",
    "automation": "automation",
    "geminiApi": "gemini",
    "llumaAi": "json_api",
}


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    running = Demo(Settings.from_environ({}), port=0).start(play_script=False)
    yield running
    running.stop()


def status(demo: Demo) -> dict[str, Any]:
    answer = requests.get(f"{demo.server.url}/api/system-status", timeout=2)
    assert answer.status_code == 200
    return answer.json()


def wait_for(
    demo: Demo, condition: Callable[[dict[str, Any]], bool], seconds: float = 20
):
    deadline = time.monotonic() + seconds
    document = status(demo)
    while not condition(document):
        if time.monotonic() > deadline:
            pytest.fail(
                f"condition not met within {seconds}s; last document: {document}"
            )
        time.sleep(0.25)
        document = status(demo)
    return document


def test_every_service_is_probed_by_its_own_kind(demo: Demo) -> None:
    kinds = {service.name: service.kind for service in demo.config.services}

    assert kinds == CONTRACT_KINDS


def test_all_nine_services_are_measured_from_the_imitations(demo: Demo) -> None:
    document = wait_for(
        demo, lambda d: all(d[name]["status"] != "unknown" for name in CONTRACT_KINDS)
    )

    assert document["pinecone"]["totalVectors"] == "12,847"
    assert document["pinecone"]["index"] == "social-vectors"
    assert document["llumaAi"]["modelVersion"] == "v2.3.1"
    assert document["groqCloud"]["model"] == "llama-3.1-70b"
    assert document["webhooksConfig"]["activeHooks"] == 3
    assert document["scheduler"]["jobsQueued"] == 7
    assert document["automation"]["successRate"].endswith("%")
    assert document["sqlDatabase"]["latency"].endswith("ms")
    assert document["geminiApi"]["quotaUsedToday"].endswith("%")


def test_a_vendor_outage_shows_as_down_and_recovers(demo: Demo) -> None:
    demo.imitations["pinecone"].mode = Mode.SERVER_ERROR
    try:
        down = wait_for(demo, lambda d: d["pinecone"]["status"] == "down")
    finally:
        demo.imitations["pinecone"].mode = Mode.HEALTHY

    assert "503" in down["pinecone"]["reason"]
    wait_for(demo, lambda d: d["pinecone"]["status"] == "operational")


def test_the_script_rate_limits_groq_and_the_widget_sees_it(demo: Demo) -> None:
    groq_episode = next(e for e in EPISODES if "Groq" in e.what)
    now = time.monotonic()
    demo.script.step(groq_episode.starts + 1, _utcnow(), 1)

    assert demo.imitations["groq"].mode == Mode.RATE_LIMITED
    degraded = wait_for(demo, lambda d: d["groqCloud"]["status"] == "degraded")
    assert "rate limited" in degraded["groqCloud"]["reason"]

    demo.script.step(groq_episode.starts + groq_episode.lasts + 1, _utcnow(), 1)
    assert demo.imitations["groq"].mode == Mode.HEALTHY
    assert time.monotonic() - now < 60


def test_a_failure_burst_degrades_automation(demo: Demo) -> None:
    demo.hostapp.fail_burst(_utcnow())

    degraded = wait_for(demo, lambda d: d["automation"]["status"] == "degraded")

    assert "failed runs in the last hour" in degraded["automation"]["reason"]


def test_statusd_demo_says_it_is_a_demo_and_stops_on_ctrl_c(tmp_path) -> None:
    env = dict(os.environ)
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "statusd.cli", "demo", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        lines = []
        for line in process.stdout:  # type: ignore[union-attr]
            lines.append(line)
            if "status page:" in line:
                break
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()

    banner = "".join(lines)
    assert "statusd DEMO" in banner
    assert "local imitation" in banner
    assert process.returncode == 0


def _utcnow():
    from shared.model import utcnow

    return utcnow()


def test_the_status_page_and_healthz_say_it_is_a_demo(demo: Demo) -> None:
    health = requests.get(f"{demo.server.url}/healthz", timeout=2).json()

    assert health["notice"].startswith("DEMO")
