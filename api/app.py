"""The HTTP application: REST commands, GraphQL, health, error mapping and limits."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import TokenVerifier
from api.dashboard import install_dashboard
from api.deps import ApiServices
from api.errors import install_error_handlers
from api.graphql.schema import graphql_router
from api.rest import api_router

MAX_BODY_BYTES = 1024 * 1024
"""The largest request body accepted: far above any command, far below a nuisance."""


class BodySizeLimit:
    """Answers 413 to a request body above ``max_bytes``, declared or streamed.

    A declared ``Content-Length`` is refused before the app runs; a chunked body is
    counted as it is read, and the overflow raised as an HTTP error where the app reads it.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and _too_large(value, self.max_bytes):
                await _refuse(send, self.max_bytes)
                return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise StarletteHTTPException(413, _too_large_message(self.max_bytes))
            return message

        await self.app(scope, counting_receive, send)


def _too_large(content_length: bytes, max_bytes: int) -> bool:
    try:
        return int(content_length) > max_bytes
    except ValueError:
        return False  # a malformed length is the server's (uvicorn's) to refuse


def _too_large_message(max_bytes: int) -> str:
    return f"the request body is larger than {max_bytes} bytes"


async def _refuse(send: Send, max_bytes: int) -> None:
    body = (
        b'{"code":"request_too_large","message":"' + _too_large_message(max_bytes).encode() + b'"}'
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Health(BaseModel):
    status: str


def create_app(services: ApiServices) -> FastAPI:
    """The FastAPI app for ``services`` (built by ``infra.bootstrap.build_services``)."""
    app = FastAPI(
        title="Overgang",
        summary="Event-sourced backend for helping young people into and through education.",
        version="0.1.0",
    )
    app.state.services = services
    # Built once, before serving: it reads key files, and refuses unsafe token settings
    # (AuthConfigurationError) so that a misconfigured process does not start.
    app.state.verifier = TokenVerifier(services.settings)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)

    # A newcomer opening the server in a browser lands on the dashboard (which links to
    # /docs and /graphql); a dashboard team reads it as an example of the GraphQL API.
    install_dashboard(app)

    @app.get("/health", tags=["health"])
    def health() -> Health:
        """Liveness: the process answers (no authentication, no database)."""
        return Health(status="ok")

    app.include_router(api_router())
    app.include_router(graphql_router(services), prefix="/graphql")
    return app
