"""All outbound HTTP of the probes goes through `fetch`, so it is done one way.

`fetch` measures latency, caps what it reads, and turns every transport failure
into a `TransportError` with a short reason that names the host but never the URL
(URLs can hold keys in their query strings).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.structures import CaseInsensitiveDict

# Status answers are small; a runaway body must not eat the collector's memory.
MAX_BODY_BYTES = 1 << 20

# Most read at once; a read returns sooner with whatever has arrived.
CHUNK_BYTES = 65536

USER_AGENT = "statusd/0.1 (+health probe)"


class TransportError(Exception):
    """No HTTP answer at all: timeout, refused connection, TLS or protocol failure."""


class BadAnswer(Exception):
    """An HTTP answer whose body is not what the probe can read."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: CaseInsensitiveDict[str]
    body: bytes
    latency_ms: int

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise BadAnswer(
                f"HTTP {self.status} with a body that is not JSON"
            ) from None


def new_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    # Proxies from the environment would send probes, and their credentials, elsewhere.
    session.trust_env = False
    return session


def fetch(
    session: requests.Session,
    method: str,
    url: str,
    *,
    timeout: float,
    headers: dict[str, str] | None = None,
    json_body: Any = None,
    verify: bool = True,
) -> Answer:
    """Make one request within `timeout` seconds; raise TransportError without an answer."""
    host = urlsplit(url).hostname or "?"
    started = time.perf_counter()
    try:
        response = session.request(
            method,
            url,
            headers=headers,
            json=json_body,
            timeout=max(0.05, timeout),
            verify=verify,
            stream=True,
            allow_redirects=False,
        )
        with response:
            body = _read_capped(response, host, started, timeout)
    except requests.exceptions.Timeout:
        raise TransportError(f"{host} did not answer within {timeout:.1f}s") from None
    except requests.exceptions.SSLError:
        raise TransportError(f"TLS handshake with {host} failed") from None
    except requests.exceptions.ConnectionError as error:
        why = _why(error)
        if why == "timed out":
            # requests reports a read timing out within the body as a ConnectionError.
            raise TransportError(unfinished(host, timeout)) from None
        raise TransportError(f"no connection to {host} ({why})") from None
    except requests.exceptions.RequestException as error:
        raise TransportError(
            f"request to {host} failed ({type(error).__name__})"
        ) from None

    latency = round((time.perf_counter() - started) * 1000)
    return Answer(response.status_code, response.headers, body, latency)


def _read_capped(
    response: requests.Response, host: str, started: float, timeout: float
) -> bytes:
    chunks = []
    size = 0
    for chunk in _arriving(response):
        chunks.append(chunk)
        size += len(chunk)
        # Neither is a RequestException, so they pass the handlers in `fetch` unchanged.
        if size > MAX_BODY_BYTES:
            raise TransportError(f"{host} sent an answer larger than 1 MiB")
        if time.perf_counter() - started > timeout:
            # The timeouts of requests bound each read, not the whole answer: a
            # body sent a byte at a time would hold the probe for as long as it lasts.
            raise TransportError(unfinished(host, timeout))
    return b"".join(chunks)


def _arriving(response: requests.Response) -> Iterator[bytes]:
    """Yield the body as it arrives, raising what `iter_content` raises.

    `iter_content` waits until a whole chunk is in, however slowly it comes;
    `read1` returns what one read of the socket brought.
    """
    try:
        while chunk := response.raw.read1(CHUNK_BYTES, decode_content=True):
            yield chunk
    except urllib3.exceptions.ProtocolError as error:
        raise requests.exceptions.ChunkedEncodingError(error) from None
    except urllib3.exceptions.DecodeError as error:
        raise requests.exceptions.ContentDecodingError(error) from None
    except urllib3.exceptions.ReadTimeoutError as error:
        raise requests.exceptions.ConnectionError(error) from None
    except urllib3.exceptions.SSLError as error:
        raise requests.exceptions.SSLError(error) from None


def unfinished(host: str, timeout: float) -> str:
    return f"{host} did not finish its answer within {timeout:.1f}s"


def _why(error: Exception) -> str:
    text = str(error).lower()
    for needle, why in (
        ("refused", "connection refused"),
        ("name or service not known", "unknown host"),
        ("temporary failure in name resolution", "DNS failure"),
        ("reset by peer", "connection reset"),
        ("remotedisconnected", "closed without an answer"),
        ("timed out", "timed out"),
    ):
        if needle in text:
            return why
    return "connection failed"
