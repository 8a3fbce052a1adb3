"""The built-in configuration: the widget's nine services, from the environment.

Used when `STATUSD_CONFIG` names no file. It is the same document a TOML file would
give, so it goes through the same validation; `examples/statusd.toml` spells it
out as a file to start from.

The vendors' intervals are chosen for their rate limits (docs/probes.md gives the
calls a day each costs): Instagram and Gemini every 5 minutes, the others every 2.
Only names of variables go in here for credentials; the probes read the values.
Names that are not secret (a model, an index) are read here, at start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def default_document(environ: Mapping[str, str]) -> dict[str, Any]:
    """The default configuration as a parsed TOML document would hold it."""
    return {
        "services": {
            "instaGraphApi": {"kind": "instagram", "interval": 300, "timeout": 10},
            "webhooksConfig": {"kind": "webhooks", "interval": 60, "timeout": 5},
            "sqlDatabase": {"kind": "sql", "interval": 30, "timeout": 5},
            "groqCloud": {
                "kind": "groq",
                "interval": 120,
                "timeout": 10,
                "model": environ.get("GROQ_MODEL") or "llama-3.1-70b",
            },
            "pinecone": {
                "kind": "pinecone",
                "interval": 120,
                "timeout": 10,
                "index": environ.get("PINECONE_INDEX") or "social-vectors",
            },
            "scheduler": {"kind": "scheduler", "interval": 60, "timeout": 5},
            "automation": {"kind": "automation", "interval": 60, "timeout": 5},
            "geminiApi": {"kind": "gemini", "interval": 300, "timeout": 10},
            "llumaAi": lluma(environ),
        }
    }


def lluma(environ: Mapping[str, str]) -> dict[str, Any]:
    """Lluma AI has no public documentation: each guess can be set in the environment."""
    service: dict[str, Any] = {
        "kind": "json_api",
        "interval": 120,
        "timeout": 10,
        "api_key_env": "LLUMA_API_KEY",
        "base_url_env": "LLUMA_BASE_URL",
        "path": environ.get("LLUMA_STATUS_PATH") or "/v1/status",
        "auth_header": environ.get("LLUMA_AUTH_HEADER") or "Authorization",
        # Set but empty means "the answer carries no version" (modelVersion N/A).
        "version_field": environ.get("LLUMA_VERSION_FIELD", "model.version"),
    }
    # Unset: "Bearer" in Authorization, nothing in another header. Set but empty:
    # nothing, the bare key.
    if "LLUMA_AUTH_SCHEME" in environ:
        service["auth_scheme"] = environ["LLUMA_AUTH_SCHEME"]
    return service
