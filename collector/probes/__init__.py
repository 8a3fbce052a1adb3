"""Probe kinds by name. A service's `kind` in the configuration picks one of these."""

from __future__ import annotations

from pydantic import BaseModel

from collector.probes.automation import AutomationProbe
from collector.probes.base import Deadline, MissingSetting, Probe, ProbeContext
from collector.probes.gemini import GeminiProbe
from collector.probes.groq import GroqProbe
from collector.probes.http import HttpProbe
from collector.probes.instagram import InstagramProbe
from collector.probes.json_api import JsonApiProbe
from collector.probes.pinecone import PineconeProbe
from collector.probes.scheduler import SchedulerProbe
from collector.probes.sql import SqlProbe
from collector.probes.webhooks import WebhooksProbe
from shared.config import ServiceConfig

KINDS: dict[str, type[Probe]] = {
    probe.kind: probe
    for probe in (
        HttpProbe,
        SqlProbe,
        WebhooksProbe,
        AutomationProbe,
        SchedulerProbe,
        InstagramProbe,
        GroqProbe,
        GeminiProbe,
        PineconeProbe,
        JsonApiProbe,
    )
}


def option_models() -> dict[str, type[BaseModel]]:
    """Each kind's options model, for validating the configuration."""
    return {kind: probe.Options for kind, probe in KINDS.items()}


def build(service: ServiceConfig, context: ProbeContext) -> Probe:
    return KINDS[service.kind](service, context)


__all__ = [
    "KINDS",
    "Deadline",
    "MissingSetting",
    "Probe",
    "ProbeContext",
    "build",
    "option_models",
]
