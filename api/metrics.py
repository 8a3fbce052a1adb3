"""`GET /metrics`: the same stored results, for Prometheus to scrape and alert on.

The metrics are built from Redis at scrape time by a custom prometheus-client
collector, like the widget's document: nothing is counted inside the API process,
so every gunicorn worker answers the same thing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from flask import Blueprint, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from api.document import current_status, result_age
from shared.config import Config
from shared.fields import finite_number
from shared.model import Status
from shared.store import StatusStore

metrics = Blueprint("metrics", __name__)


class StoredResults(Collector):
    """Turn the latest stored results into gauges, read fresh on every scrape."""

    def __init__(
        self, config: Config, store: StatusStore, clock: Callable[[], datetime]
    ):
        self.config = config
        self.store = store
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        stored = self.store.read_many(
            [service.name for service in self.config.services]
        )
        now = self.clock()

        status = GaugeMetricFamily(
            "statusd_service_status",
            "1 for the service's current status (unknown when stale or never checked)",
            labels=["service", "kind", "status"],
        )
        latency = GaugeMetricFamily(
            "statusd_service_latency_seconds",
            "Round trip of the service's last probe",
            labels=["service"],
        )
        age = GaugeMetricFamily(
            "statusd_service_result_age_seconds",
            "Seconds since the service was last probed",
            labels=["service"],
        )
        for service in self.config.services:
            result = stored.get(service.name)
            current = current_status(service, result, now)
            for value in Status:
                labels = [service.name, service.kind, value.value]
                status.add_metric(labels, 1.0 if value == current else 0.0)
            seconds = result_age(result, now)
            if result is None or seconds is None:
                continue
            age.add_metric([service.name], seconds)
            milliseconds = finite_number(result.result.latency_ms)
            if milliseconds is not None:
                latency.add_metric([service.name], milliseconds / 1000)

        collector_up = GaugeMetricFamily(
            "statusd_collector_up", "1 while the collector's heartbeat is in Redis"
        )
        collector_up.add_metric([], 1.0 if self.store.heartbeat() else 0.0)
        yield from (status, latency, age, collector_up)


@metrics.get("/metrics")
def scrape() -> Response:
    registry = current_app.extensions["statusd"]["metrics"]
    # Redis errors propagate to the app's handler, which answers 503.
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def metrics_registry(
    config: Config, store: StatusStore, clock: Callable[[], datetime]
) -> CollectorRegistry:
    """A registry of our own: the default one would add this process's own metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoredResults(config, store, clock))
    return registry
