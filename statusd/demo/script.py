"""The demo's script: what goes wrong, and when, in a cycle that repeats.

Each episode changes an imitation or the pretend host app, and undoes it when it
ends; between episodes latencies drift and Instagram's usage rises and falls, so
the widget always has something moving.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from statusd.demo.hostapp import DemoHostApp
from statusd.imitations import Imitation, InstagramImitation, Mode

log = logging.getLogger(__name__)

CYCLE_SECONDS = 300.0


class Stage(Protocol):
    """What the script acts on."""

    imitations: dict[str, Imitation]
    hostapp: DemoHostApp

    def add_quota_use(self, requests: int) -> None: ...


Action = Callable[[Stage, datetime], None]


@dataclass(frozen=True)
class Episode:
    starts: float  # seconds into the cycle
    lasts: float
    what: str
    begin: Action
    end: Action


def set_mode(vendor: str, mode: Mode) -> Action:
    def act(stage: Stage, now: datetime) -> None:
        stage.imitations[vendor].mode = mode

    return act


def set_scheduler(running: bool) -> Action:
    def act(stage: Stage, now: datetime) -> None:
        stage.hostapp.scheduler_running = running

    return act


def fail_burst(stage: Stage, now: datetime) -> None:
    stage.hostapp.fail_burst(now)


def nothing(stage: Stage, now: datetime) -> None:
    pass


EPISODES = (
    Episode(
        30,
        45,
        "Groq rate-limits us (429, Retry-After)",
        set_mode("groq", Mode.RATE_LIMITED),
        set_mode("groq", Mode.HEALTHY),
    ),
    Episode(90, 5, "a burst of failed automation runs", fail_burst, nothing),
    Episode(
        120,
        35,
        "Pinecone has an outage (HTTP 503)",
        set_mode("pinecone", Mode.SERVER_ERROR),
        set_mode("pinecone", Mode.HEALTHY),
    ),
    Episode(
        170,
        35,
        "Lluma AI slows down",
        set_mode("lluma", Mode.SLOW),
        set_mode("lluma", Mode.HEALTHY),
    ),
    Episode(
        215,
        60,
        "the app's scheduler stops running its jobs",
        set_scheduler(False),
        set_scheduler(True),
    ),
)


class Script:
    def __init__(self, stage: Stage):
        self.stage = stage
        self.active: set[Episode] = set()

    def step(self, elapsed: float, now: datetime, seconds: float) -> None:
        """Bring the stage to where the script is `elapsed` real seconds in."""
        at = elapsed % CYCLE_SECONDS
        for episode in EPISODES:
            running = episode.starts <= at < episode.starts + episode.lasts
            if running and episode not in self.active:
                self.active.add(episode)
                log.info("demo: %s (for %.0fs)", episode.what, episode.lasts)
                episode.begin(self.stage, now)
            elif not running and episode in self.active:
                self.active.discard(episode)
                log.info("demo: over: %s", episode.what)
                episode.end(self.stage, now)
        self.drift(at)
        self.stage.hostapp.tick(now, seconds)
        self.stage.add_quota_use(int(seconds * 3))

    def drift(self, at: float) -> None:
        """Latencies and Instagram's usage move slowly along the cycle."""
        phase = 2 * math.pi * at / CYCLE_SECONDS
        for offset, imitation in enumerate(self.stage.imitations.values()):
            imitation.base_latency = 0.04 + 0.05 * (1 + math.sin(phase + offset))
        instagram = self.stage.imitations.get("instagram")
        if isinstance(instagram, InstagramImitation):
            # Peaks above the 80% threshold for a while each cycle.
            used = round(55 + 35 * math.sin(phase - 1.0))
            instagram.usage = {
                "call_count": used,
                "total_time": used // 2,
                "total_cputime": 9,
            }
