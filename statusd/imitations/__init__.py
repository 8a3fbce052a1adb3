"""Local imitations of the vendor APIs that statusd probes, for tests and the demo."""

from statusd.imitations.base import Imitation, Mode, RecordedRequest, Reply
from statusd.imitations.gemini import GeminiImitation
from statusd.imitations.groq import GroqImitation
from statusd.imitations.instagram import InstagramImitation
from statusd.imitations.lluma import LlumaImitation
from statusd.imitations.pinecone import PineconeImitation

VENDORS: dict[str, type[Imitation]] = {
    "instagram": InstagramImitation,
    "groq": GroqImitation,
    "gemini": GeminiImitation,
    "pinecone": PineconeImitation,
    "lluma": LlumaImitation,
}

__all__ = [
    "VENDORS",
    "GeminiImitation",
    "GroqImitation",
    "Imitation",
    "InstagramImitation",
    "LlumaImitation",
    "Mode",
    "PineconeImitation",
    "RecordedRequest",
    "Reply",
]
