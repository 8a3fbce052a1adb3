"""The built-in configuration: the widget's nine services, from the environment.

Used when `STATUSD_CONFIG` names no file. It is the same document a TOML file would
give, so it goes through the same validation; `examples/statusd.toml` spells it
out as a file to start from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

GRAPH_API = "https://graph.facebook.com/v25.0"
GROQ_API = "https://api.groq.com/openai/v1"
GEMINI_API = "https://generativelanguage.googleapis.com/v1beta"
PINECONE_API = "https://api.pinecone.io"


def default_document(environ: Mapping[str, str]) -> dict[str, Any]:
    """The default configuration as a parsed TOML document would hold it."""
    index = environ.get("PINECONE_INDEX") or "social-vectors"
    return {
        "services": {
            "instaGraphApi": {
                "kind": "http",
                "interval": 300,
                "timeout": 10,
                "url": f"{GRAPH_API}/me?fields=id",
                "headers": {"Authorization": "Bearer ${INSTAGRAM_ACCESS_TOKEN}"},
                "degraded_ms": 1500,
            },
            "webhooksConfig": {"kind": "webhooks", "interval": 60, "timeout": 5},
            "sqlDatabase": {"kind": "sql", "interval": 30, "timeout": 5},
            "groqCloud": {
                "kind": "http",
                "interval": 120,
                "timeout": 10,
                "url": f"{GROQ_API}/models",
                "headers": {"Authorization": "Bearer ${GROQ_API_KEY}"},
            },
            "pinecone": {
                "kind": "http",
                "interval": 120,
                "timeout": 10,
                "url": f"{PINECONE_API}/indexes/{index}",
                "headers": {"Api-Key": "${PINECONE_API_KEY}"},
            },
            "scheduler": {"kind": "scheduler", "interval": 60, "timeout": 5},
            "automation": {"kind": "automation", "interval": 60, "timeout": 5},
            "geminiApi": {
                "kind": "http",
                "interval": 120,
                "timeout": 10,
                "url": f"{GEMINI_API}/models",
                "headers": {"x-goog-api-key": "${GEMINI_API_KEY}"},
            },
            "llumaAi": {
                "kind": "http",
                "interval": 60,
                "timeout": 10,
                "url": "${LLUMA_BASE_URL}/v1/status",
                "headers": {"Authorization": "Bearer ${LLUMA_API_KEY}"},
                "extract": {"model_version": "model.version"},
            },
        }
    }
