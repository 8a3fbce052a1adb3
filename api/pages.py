"""The human status page at `/`: static files whose script reads `/api/system-status`.

The page holds no data of its own, so it needs no API key and no templating; the
browser fetches the status with the key the reader enters. Its assets live in
`api/static` and are served under `/assets/`.
"""

from __future__ import annotations

from flask import Blueprint, Response, send_from_directory

pages = Blueprint("pages", __name__, static_folder="static", static_url_path="/assets")

# Only our own files, and fetches to our own origin: the page shows text that comes
# from outside services, so even a slip into markup must not run or load anything.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)


@pages.get("/")
def status_page() -> Response:
    assert pages.static_folder is not None
    return send_from_directory(pages.static_folder, "status.html")


@pages.after_request
def harden(response: Response) -> Response:
    """Lock the page and its assets to this origin; revalidate them on each load."""
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    # A redeployed page must reach readers at once; revalidation is a cheap 304.
    response.headers["Cache-Control"] = "no-cache"
    return response
