"""The dashboard: a small front end served at ``/``, a living example of the GraphQL API.

Plain HTML, CSS and JavaScript modules under ``static/``: no build step, no npm, nothing
fetched from elsewhere (the content security policy below refuses any other origin). The
page reads everything through the public GraphQL API at ``/graphql`` with the user's
bearer token; in embedded development it gets one from the demo login
(``api.rest.demo``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

STATIC_DIR = Path(__file__).parent / "static"
INDEX = STATIC_DIR / "index.html"
ASSETS_PATH = "/dashboard"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        # Scripts, styles and data from this server only: no CDN, no inline script, and
        # text from the API can never run as code.
        "default-src 'self'",
        # 'self' includes this origin's websockets (the alertRaised subscription).
        "connect-src 'self'",
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidated on every visit, so a new release is seen at once.
    "Cache-Control": "no-cache",
}


class _Assets(StaticFiles):
    """The page's scripts and styles, with the page's caching and sniffing headers."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = _HEADERS["Cache-Control"]
        response.headers["X-Content-Type-Options"] = _HEADERS["X-Content-Type-Options"]
        return response


def install_dashboard(app: FastAPI) -> None:
    """Serve the dashboard's page at ``/`` and its assets under ``/dashboard/``."""

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def dashboard() -> FileResponse:
        """The dashboard (it links to /docs and /graphql)."""
        return FileResponse(INDEX, media_type="text/html", headers=_HEADERS)

    app.mount(ASSETS_PATH, _Assets(directory=STATIC_DIR), name="dashboard")
