"""The HTTP API: a thin Flask app that reads Redis and nothing else.

No request ever waits on an outside service: the collector did that work and left
its results in Redis. When Redis itself is unreachable the API answers 503 with a
JSON reason, and recovers by itself on the next request once Redis is back.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import redis
from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from api.document import build_document
from api.metrics import metrics, metrics_registry
from api.pages import pages
from shared.config import Config
from shared.model import utcnow
from shared.store import UNREACHABLE, StatusStore

log = logging.getLogger(__name__)

# Seconds a client is told to wait before asking again while Redis is unreachable.
RETRY_AFTER = 5


def create_app(
    config: Config,
    store: StatusStore,
    *,
    api_key: str | None = None,
    clock: Callable[[], datetime] = utcnow,
    notice: str | None = None,
) -> Flask:
    """Build the app. With `api_key`, data paths need it in the `X-API-Key` header.

    `notice`, when given, is shown by /healthz and atop the status page (the demo
    says there that nothing in it is real).
    """
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the contract's order
    app.extensions["statusd"] = {
        "config": config,
        "store": store,
        "metrics": metrics_registry(config, store, clock),
    }
    app.register_blueprint(pages)
    app.register_blueprint(metrics)

    @app.before_request
    def require_key() -> Response | None:
        """Data needs the key; the page, its assets and /healthz hold none."""
        if request.path.startswith("/api/") or request.path == "/metrics":
            return _check_key(api_key)
        return None

    @app.get("/api/system-status")
    def system_status() -> Response:
        names = [service.name for service in config.services]
        stored = store.read_many(names)
        return jsonify(build_document(config, stored, clock()))

    app.after_request(_no_store)

    @app.get("/healthz")
    def healthz() -> Response:
        """The API's own liveness: 200 while it runs, whatever Redis says."""
        body: dict[str, Any] = {"status": "ok", "redis": "ok", "collector": None}
        if notice:
            body["notice"] = notice
        try:
            body["collector"] = _collector_of(store.heartbeat())
        except UNREACHABLE:
            body["redis"] = "unreachable"
        except redis.exceptions.RedisError as error:
            # Redis answers, but not as it should (a wrong database index, a key of
            # the wrong type): still no reason for the API itself to look dead.
            log.warning("status store error while serving /healthz: %r", error)
            body["redis"] = "error"
            body["redisError"] = type(error).__name__
        return jsonify(body)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        response = jsonify({"error": error.name, "detail": error.description})
        response.status_code = error.code or 500
        # Keep the error's own headers: a 405 must say which methods are `Allow`ed.
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(UNREACHABLE[0])
    @app.errorhandler(UNREACHABLE[1])
    def redis_unreachable(error: Exception) -> tuple[Response, int, dict[str, str]]:
        log.warning(
            "status store unreachable while serving %s: %s", request.path, error
        )
        body = {
            "error": "status store unreachable",
            "detail": "Redis does not answer; retry",
        }
        return jsonify(body), 503, {"Retry-After": str(RETRY_AFTER)}

    @app.errorhandler(redis.exceptions.RedisError)
    def redis_failed(error: Exception) -> tuple[Response, int, dict[str, str]]:
        # The message may quote the server or a key; the class name says enough.
        log.warning("status store error while serving %s: %r", request.path, error)
        body = {
            "error": "status store error",
            "detail": f"Redis answered with an error ({type(error).__name__})",
        }
        return jsonify(body), 503, {"Retry-After": str(RETRY_AFTER)}

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Response, int]:
        log.exception("unexpected error serving %s", request.path)
        # The error's own text may quote anything (a key, a value): it stays in the log.
        body = {"error": "internal error", "detail": "see the server log"}
        return jsonify(body), 500

    return app


def _check_key(api_key: str | None) -> Response | None:
    if api_key is None:
        return None
    given = request.headers.get("X-API-Key", "")
    if hmac.compare_digest(given.encode(), api_key.encode()):
        return None
    problem = "missing X-API-Key header" if not given else "wrong X-API-Key"
    response = jsonify({"error": "unauthorized", "detail": problem})
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'ApiKey header="X-API-Key"'
    return response


def _collector_of(heartbeat: dict[str, Any] | None) -> dict[str, Any]:
    beat_at = heartbeat.get("beat_at") if heartbeat else None
    return {
        "alive": heartbeat is not None,
        # Only text reaches the answer, whatever else the key was made to hold.
        "lastBeat": beat_at if isinstance(beat_at, str) else None,
    }


def _no_store(response: Response) -> Response:
    """Every answer, errors too, unless it says otherwise (the page's assets do).

    A status is only true now: caches and proxies must not replay it.
    """
    response.headers.setdefault("Cache-Control", "no-store")
    return response
