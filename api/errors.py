"""The one place that turns errors into HTTP answers.

Every error body is ``{"code": ..., "message": ...}`` with a stable ``code``. Domain errors
map by kind (not found 404, conflict 409, invalid 422); request validation errors list
where and what, but never echo what was sent, because request bodies carry names, notes and
phone numbers; a database that is away answers 503 with ``Retry-After``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.access import AccessDeniedError
from api.auth import AuthenticationError
from api.idempotency import IdempotencyKeyReusedError
from domain.errors import DomainError, ErrorKind
from projections.store import ViewStoreUnavailableError

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5

STATUS_BY_KIND: Mapping[ErrorKind, int] = {
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.INVALID: 422,
}

CODE_BY_STATUS: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    503: "unavailable",
}

# Pydantic messages that would quote the submitted value, replaced by a fixed text.
_QUOTING_MESSAGES: Mapping[str, str] = {
    "union_tag_invalid": "Input tag does not match any of the expected tags",
    "uuid_parsing": "Input should be a valid UUID",
    "json_invalid": "The body is not valid JSON",
}


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **extra}


def _safe_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """``loc``, ``msg`` and ``type`` of each error; ``input`` and ``ctx`` are dropped."""
    safe = []
    for error in errors:
        kind = str(error.get("type", "invalid"))
        message = _QUOTING_MESSAGES.get(kind, str(error.get("msg", "invalid value")))
        if kind == "union_tag_invalid":
            expected = (error.get("ctx") or {}).get("expected_tags")
            if isinstance(expected, str):
                message = f"{message}: {expected}"
        loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
        safe.append({"loc": loc, "msg": message, "type": kind})
    return safe


def _summary(errors: Sequence[Mapping[str, Any]]) -> str:
    first = errors[0] if errors else None
    if first is None:
        return "the request is invalid"
    where = ".".join(str(part) for part in first["loc"])
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"


async def _domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    return JSONResponse(
        error_body(error.code, error.message), status_code=STATUS_BY_KIND[error.kind]
    )


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = _safe_errors(error.errors())
    return JSONResponse(
        error_body("invalid_request", _summary(errors), errors=errors), status_code=422
    )


async def _authentication_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, AuthenticationError)
    return JSONResponse(
        error_body(error.code, error.message),
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


async def _access_denied(request: Request, error: Exception) -> JSONResponse:
    # The same answer whether the target exists or not (see api.access).
    assert isinstance(error, AccessDeniedError)
    return JSONResponse(error_body(error.code, error.message), status_code=403)


async def _idempotency_key_reused(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, IdempotencyKeyReusedError)
    return JSONResponse(error_body(error.code, error.message), status_code=422)


async def _unavailable(request: Request, error: Exception) -> JSONResponse:
    # The class name only: driver messages can carry connection details.
    log.warning("storage unavailable: %s", type(error).__name__)
    return JSONResponse(
        error_body("unavailable", "the database is unavailable; try again shortly"),
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = CODE_BY_STATUS.get(error.status_code, "http_error")
    message = error.detail if isinstance(error.detail, str) else code.replace("_", " ")
    return JSONResponse(
        error_body(code, message), status_code=error.status_code, headers=error.headers
    )


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    # Starlette logs the traceback; the client learns nothing of the internals.
    return JSONResponse(
        error_body("internal_error", "an unexpected error occurred"), status_code=500
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(AuthenticationError, _authentication_error)
    app.add_exception_handler(AccessDeniedError, _access_denied)
    app.add_exception_handler(IdempotencyKeyReusedError, _idempotency_key_reused)
    for unavailable in (OperationalError, InterfaceError, ViewStoreUnavailableError):
        app.add_exception_handler(unavailable, _unavailable)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
