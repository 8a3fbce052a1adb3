"""The collector daemon: every service on its own interval, results into Redis.

APScheduler fires each service's `ServiceRunner.run_once` on an interval trigger,
the first run at start. `max_instances=1` means a slow service never queues runs
behind itself; `coalesce` folds runs missed during a stall into one. The heartbeat
runs on a thread of its own: hung probes holding every worker must not make the
collector look dead.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from redis.exceptions import RedisError

from collector import probes
from collector.recorder import Recorder
from collector.runner import ServiceRunner
from shared.config import Config, ServiceConfig
from shared.model import to_iso, utcnow
from shared.store import StatusStore

log = logging.getLogger(__name__)

HEARTBEAT_JOB = "statusd-heartbeat"
HEARTBEAT_EXECUTOR = "heartbeat"

# A run starts up to this share of its interval late, and never more than the cap:
# enough to spread runs of one interval apart, too little to notice in the widget.
JITTER_SHARE = 0.1
MAX_JITTER_SECONDS = 2.0

ProbeFactory = Callable[[ServiceConfig, probes.ProbeContext], probes.Probe]


class Collector:
    def __init__(
        self,
        config: Config,
        store: StatusStore,
        context: probes.ProbeContext,
        *,
        build_probe: ProbeFactory = probes.build,
    ):
        self.config = config
        self.store = store
        self.context = context
        self.stopping = threading.Event()
        self.recorder = Recorder(config, store)
        self.runners = [
            ServiceRunner(
                build_probe(service, context), self.recorder.record, self.stopping
            )
            for service in config.services
        ]
        self.started_at = utcnow()
        # Tells this collector's heartbeat from another's, even one in the same process.
        self.instance = uuid.uuid4().hex
        self._beats = 0
        self.scheduler = self._make_scheduler()

    def _make_scheduler(self) -> BackgroundScheduler:
        settings = self.config.collector
        # One worker per service by default: a slow probe then never waits for a
        # worker held by another. The runners' timeouts bound how long any is held.
        # The heartbeat has an executor of its own, so it needs none of these.
        workers = settings.workers or len(self.runners)
        return BackgroundScheduler(
            executors={
                "default": ThreadPoolExecutor(max_workers=workers),
                HEARTBEAT_EXECUTOR: ThreadPoolExecutor(max_workers=1),
            },
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone="UTC",
        )

    def start(self) -> None:
        self.recorder.prime()
        self._warn_of_another_collector()
        now = utcnow()
        for runner in self.runners:
            service = runner.service
            self.scheduler.add_job(
                runner.run_once,
                IntervalTrigger(seconds=service.interval, jitter=jitter(service)),
                id=f"probe-{service.name}",
                name=f"probe {service.name}",
                next_run_time=now,
                misfire_grace_time=max(1, int(service.interval)),
            )
        self.scheduler.add_job(
            self.beat,
            IntervalTrigger(seconds=self.config.collector.heartbeat_interval),
            id=HEARTBEAT_JOB,
            name="heartbeat",
            next_run_time=now,
            executor=HEARTBEAT_EXECUTOR,
        )
        self.scheduler.start()
        log.info(
            "collector started: %d services from %s",
            len(self.runners),
            self.config.source,
        )

    def _warn_of_another_collector(self) -> None:
        try:
            heartbeat = self.store.heartbeat()
        except RedisError as error:
            self.recorder.redis_failed(error)
            return
        if heartbeat is None or heartbeat.get("instance") == self.instance:
            return
        # The heartbeat's TTL makes it a live one, unless its collector was killed
        # within the last TTL without cleaning up.
        log.warning(
            "another collector seems to be running (pid=%s host=%s, last beat %s); "
            "both will write the same keys",
            heartbeat.get("pid"),
            heartbeat.get("host"),
            heartbeat.get("beat_at"),
        )

    def beat(self) -> None:
        """Refresh the heartbeat; write every result again if Redis lost them."""
        heartbeat = {
            "instance": self.instance,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": to_iso(self.started_at),
            "beat_at": to_iso(utcnow()),
            "services": [runner.service.name for runner in self.runners],
        }
        try:
            vanished = self.store.beat(heartbeat, self.config.collector.heartbeat_ttl)
        except RedisError as error:
            self.recorder.redis_failed(error)
            return
        # The first beat finds no heartbeat anyway: nothing was lost then.
        self.recorder.redis_succeeded(keys_lost=vanished and self._beats > 0)
        self._beats += 1

    def stop(self) -> None:
        """Stop within a few seconds: waiting runs give up, hung probes are abandoned."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        # A command whose start failed part way still calls stop(); a scheduler that
        # never ran must not raise over that error, nor remove another's heartbeat.
        was_running = self.scheduler.running
        if was_running:
            self.scheduler.shutdown(wait=True)
            with contextlib.suppress(RedisError):
                self.store.forget_heartbeat(self.instance)
        for runner in self.runners:
            runner.probe.close()
        self.context.close()
        self.store.client.close()
        if was_running:
            log.info("collector stopped")


def jitter(service: ServiceConfig) -> float:
    """Seconds a run may start late, so services of one interval do not fire at once.

    The database services of the default configuration share one engine; fired
    together, each run would also wait on the others' connections.
    """
    return min(MAX_JITTER_SECONDS, JITTER_SHARE * service.interval)
