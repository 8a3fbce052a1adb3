"""The built-in configuration's vendor services, and the reference that documents them."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import BaseModel
from vendor_kit import Rig

from collector import probes
from collector.probes import ProbeContext
from collector.probes.gemini import QuotaCounter
from collector.probes.vendor import VendorOptions
from shared.config import Config, load
from shared.model import Status
from shared.redact import scrub

README = Path(__file__).resolve().parents[2] / "README.md"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "probes.md"

VENDOR_SERVICES = {
    "instaGraphApi": "instagram",
    "groqCloud": "groq",
    "pinecone": "pinecone",
    "geminiApi": "gemini",
    "llumaAi": "json_api",
}

# Calls one check makes, by kind.
CALLS_A_CHECK = {"instagram": 1, "groq": 1, "gemini": 1, "pinecone": 2, "json_api": 1}


def default_config(environ: dict[str, str] | None = None) -> Config:
    return load(environ=environ or {}, option_models=probes.option_models())


def docs_section(kind: str) -> str:
    """The text of `## \\`kind\\`` up to the next heading of that level."""
    text = DOCS.read_text()
    match = re.search(rf"^## `{kind}`\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"docs/probes.md has no section for {kind}"
    return match[1]


def docs_section_of_vendors() -> str:
    text = DOCS.read_text()
    match = re.search(
        r"^## Options of every vendor kind\n(.*?)(?=^## |\Z)", text, re.M | re.S
    )
    assert match, "docs/probes.md has no section of the vendors' shared options"
    return match[1]


def test_the_vendor_services_use_their_own_kinds():
    config = default_config()

    kinds = {name: config.service(name).kind for name in VENDOR_SERVICES}

    assert kinds == VENDOR_SERVICES


def test_the_model_and_index_come_from_the_environment_with_defaults():
    plain = default_config()
    chosen = default_config(
        {"GROQ_MODEL": "gemma2-9b-it", "PINECONE_INDEX": "my-index"}
    )

    assert plain.service("groqCloud").options.model == "llama-3.1-70b"  # type: ignore[union-attr]
    assert plain.service("pinecone").options.index == "social-vectors"  # type: ignore[union-attr]
    assert chosen.service("groqCloud").options.model == "gemma2-9b-it"  # type: ignore[union-attr]
    assert chosen.service("pinecone").options.index == "my-index"  # type: ignore[union-attr]


def test_the_default_lluma_service_reads_base_url_and_key_from_the_environment(
    rig_of: Callable[[str], Rig],
):
    lluma = rig_of("lluma")
    lluma.imitation.model_version = "v3.0"
    environ = {
        "LLUMA_API_KEY": lluma.vendor.secret,
        "LLUMA_BASE_URL": lluma.imitation.url,
        "LLUMA_AUTH_HEADER": "X-Lluma-Key",
    }
    service = default_config(environ).service("llumaAi")

    result = lluma.check(probes.build(service, ProbeContext(environ)))

    assert result.status is Status.OPERATIONAL, result.reason
    assert result.values == {"model_version": "v3.0"}
    assert lluma.imitation.requests[0].path == "/v1/status"
    assert scrub(lluma.imitation.url) == lluma.imitation.url


def test_the_default_lluma_guesses_can_each_be_changed_in_the_environment():
    environ = {
        "LLUMA_STATUS_PATH": "/api/info",
        "LLUMA_AUTH_HEADER": "X-Key",
        "LLUMA_AUTH_SCHEME": "",
        "LLUMA_VERSION_FIELD": "version",
    }

    plain = default_config().service("llumaAi").options
    chosen = default_config(environ).service("llumaAi").options

    assert (plain.path, plain.auth_header, plain.auth_scheme) == (  # type: ignore[union-attr]
        "/v1/status",
        "Authorization",
        None,
    )
    assert plain.version_field == "model.version"  # type: ignore[union-attr]
    assert (chosen.path, chosen.auth_header, chosen.auth_scheme) == (  # type: ignore[union-attr]
        "/api/info",
        "X-Key",
        "",
    )
    assert chosen.version_field == "version"  # type: ignore[union-attr]


def test_the_default_vendor_calls_go_to_the_vendors_over_https():
    config = default_config()

    for name, kind in VENDOR_SERVICES.items():
        options = config.service(name).options
        if kind == "json_api":
            assert options.base_url_env == "LLUMA_BASE_URL"  # type: ignore[union-attr]
        else:
            assert options.base_url.startswith("https://")  # type: ignore[union-attr]


@pytest.mark.parametrize("document", [DOCS, README], ids=["probes.md", "README"])
def test_the_documented_cost_matches_the_default_intervals(document: Path):
    config = default_config()
    rows = re.findall(
        r"^\| `(\w+)` \| `(\w+)` \| (\d+) s \| (\d+) \| ([\d,]+) \|$",
        document.read_text(),
        re.M,
    )

    documented = {row[0]: row[1:] for row in rows}

    assert set(documented) == set(VENDOR_SERVICES)
    for name, (kind, interval, per_check, per_day) in documented.items():
        service = config.service(name)
        assert kind == service.kind
        assert float(interval) == service.interval
        assert int(per_check) == CALLS_A_CHECK[kind]
        assert int(per_day.replace(",", "")) == 86400 / service.interval * int(
            per_check
        )


def options_of(model: type[BaseModel]) -> list[str]:
    return list(model.model_fields)


@pytest.mark.parametrize("kind", sorted(probes.option_models()))
def test_the_reference_documents_every_option_of_every_kind(kind: str):
    model = probes.option_models()[kind]
    shared = docs_section_of_vendors() if issubclass(model, VendorOptions) else ""
    text = docs_section(kind) + shared

    missing = [name for name in options_of(model) if f"`{name}`" not in text]

    assert missing == []


def test_the_reference_documents_every_key_of_the_quota_counter():
    text = docs_section("gemini")

    missing = [f"quota.{name}" for name in options_of(QuotaCounter)]

    assert [name for name in missing if f"`{name}`" not in text] == []


def test_an_empty_lluma_version_field_means_the_answer_has_no_version():
    options = default_config({"LLUMA_VERSION_FIELD": ""}).service("llumaAi").options

    assert not options.version_field  # type: ignore[union-attr]
