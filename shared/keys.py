"""Every Redis key statusd reads or writes, built in this one place.

Keys read `statusd:<kind>:<id>`. They are a documented, stable interface (see the
README, "Redis keys"): ops read them with `redis-cli`, so a key is never renamed.
"""

PREFIX = "statusd"

# The collector's liveness: JSON, refreshed every few seconds, with a TTL so that it
# vanishes by itself when the collector dies.
HEARTBEAT = f"{PREFIX}:collector:heartbeat"

# Status changes, newest first, capped (a list of JSON objects). The collector
# writes them beside its heartbeat; like every key, it reads `statusd:<kind>:<id>`.
EVENTS = f"{PREFIX}:collector:events"
EVENTS_KEPT = 200


def service(name: str) -> str:
    """The latest result of one service (JSON, see `shared.model.StoredResult`)."""
    return _build("service", name)


def backoff(name: str) -> str:
    """Until when a vendor asked us not to call (JSON, expires by itself)."""
    return _build("backoff", name)


def _build(kind: str, name: str) -> str:
    if not name or ":" in name or any(ch.isspace() for ch in name):
        raise ValueError(
            f"bad key id {name!r}: it must be non-empty, without ':' or spaces"
        )
    return f"{PREFIX}:{kind}:{name}"
