"""One JSON error shape for every error the API returns, and the one table from domain errors to statuses.

Domain errors (``lunarchive.errors``) carry no HTTP; ``STATUS`` maps them, most specific first. Every
error response is ``{"code": ..., "description": ...}`` (the STAC API error shape): FastAPI's request
validation errors become 400, unknown routes 404, and an unexpected failure a 500 with no internals.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from ..errors import (
    CatalogError,
    Conflict,
    InvalidIdentifier,
    InvalidQuery,
    LunarchiveError,
    NotFound,
    StoreError,
    UserError,
)

__all__ = ["ERROR_RESPONSES", "STATUS", "ErrorBody", "PreconditionFailed", "RangeNotSatisfiable", "allowed_methods",
           "answers", "error_response", "http_error_response", "install", "status_for"]

log = logging.getLogger("lunarchive.api")


class RangeNotSatisfiable(UserError):
    """A ``Range`` header that names no byte of the file (or cannot be read)."""

    code = "range_not_satisfiable"

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size


class PreconditionFailed(UserError):
    """An ``If-Match`` header that names another version of the resource."""

    code = "precondition_failed"


STATUS: tuple[tuple[type[LunarchiveError], int], ...] = (
    (RangeNotSatisfiable, 416),
    (PreconditionFailed, 412),
    (InvalidQuery, 400),
    (InvalidIdentifier, 400),
    (UserError, 400),
    (NotFound, 404),
    (Conflict, 409),
    (StoreError, 503),
    (CatalogError, 503),
    (LunarchiveError, 500),
)
"""Domain error → HTTP status; the first class the error is an instance of wins."""

_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 406: "not_acceptable",
               412: "precondition_failed", 413: "too_large", 414: "uri_too_long", 415: "unsupported_media_type"}


class ErrorBody(BaseModel):
    """Every error the API returns."""

    code: str
    description: str


def _response(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _response("Bad request: a parameter, filter, geometry, time or paging token cannot be understood"),
    404: _response("No such product, collection, item or file"),
}
"""The error responses every route documents (routes add 416 and so on where they apply)."""


def status_for(exc: LunarchiveError) -> int:
    for cls, status in STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def error_response(status: int, code: str, description: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": code, "description": description}, status_code=status, headers=headers)


def http_error_response(status: int, description: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The error shape of an HTTP-level refusal (404, 405, 413, 415...), its code named after its status."""
    return error_response(status, _HTTP_CODES.get(status, "error"), description, headers)


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "request"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


async def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LunarchiveError)
    status = status_for(exc)
    headers = {"Content-Range": f"bytes */{exc.size}"} if isinstance(exc, RangeNotSatisfiable) else None
    if status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc)
    return error_response(status, exc.code, exc.message, headers)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(400, "bad_request", _describe_validation(exc))


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    description = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    headers = dict(exc.headers or {})
    if exc.status_code == 404 and description == "Not Found":
        description = f"no such resource: {request.url.path}"
    if exc.status_code == 405:  # every method some route of this path answers (Starlette names the first's)
        allowed = allowed_methods(request.app.router.routes, request.scope)
        headers["Allow"] = ", ".join(allowed)
        description = f"{request.method} is not allowed here; allowed: {', '.join(allowed)}"
    return error_response(exc.status_code, code, description, headers)


_METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")


def answers(routes: Sequence[BaseRoute], scope: Scope, method: str) -> bool:
    """Whether some route answers ``method`` at the request's path."""
    probe = {**scope, "method": method}
    return any(route.matches(probe)[0] == Match.FULL for route in routes)


def allowed_methods(routes: Sequence[BaseRoute], scope: Scope) -> list[str]:
    """The methods some route answers at the request's path (HEAD wherever GET is: the app answers it for
    every GET)."""
    methods = {m for m in _METHODS if answers(routes, scope, m)}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "the server failed to answer this request")


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the one JSON shape."""
    app.add_exception_handler(LunarchiveError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
