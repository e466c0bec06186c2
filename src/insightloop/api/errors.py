"""One error body for every failure: ``{"error": {"code": ..., "message": ...}}``.

:class:`ErrorBody` is that body's type; :func:`responses` documents it in the OpenAPI spec
for the statuses a route can answer (it replaces FastAPI's ``HTTPValidationError`` 422).
"""

from __future__ import annotations

import json
from typing import Any, NotRequired

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from typing_extensions import TypedDict

from insightloop.errors import (
    ConfigError,
    FeatureMismatchError,
    InsightloopError,
    NotFittedError,
    NotFoundError,
    WarehouseError,
)

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
          415: "unsupported_media_type", 422: "validation_error", 429: "rate_limited",
          431: "headers_too_large", 500: "internal_error", 501: "not_available",
          503: "unavailable"}
INTERNAL_MESSAGE = "internal error; see the server log"
_WHEN = {401: "No X-API-Key header (`missing_key`), or a key that is not valid or was "
              "revoked (`invalid_key`).",
         403: "The key's role does not allow this endpoint (`forbidden`).",
         404: "The resource does not exist (`not_found`).",
         409: "Not built yet (`not_built`: run the command the message names), or a write "
              "refused in this server's state (`conflict`, `several_workers`).",
         413: "Request body over the server's limit (`payload_too_large`).",
         422: "A parameter or body field is invalid (`validation_error`, with `details`; "
              "`invalid` for values a service refused).",
         429: "Too many requests for this key or client (`rate_limited`) or a full job queue "
              "(`queue_full`); wait `Retry-After` seconds.",
         503: "A job is writing the warehouse (`busy`); retry after `Retry-After` seconds."}


class ErrorDetail(TypedDict):
    """One failed check of a request (validation errors only)."""

    loc: list[str]
    msg: str


class ErrorInfo(TypedDict):
    """What went wrong: a stable machine-readable ``code`` and a one-line ``message``."""

    code: str
    message: str
    details: NotRequired[list[ErrorDetail]]


class ErrorBody(TypedDict):
    """The body of every error response."""

    error: ErrorInfo


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for ``statuses``, each with the common :class:`ErrorBody`."""
    return {status: {"model": ErrorBody, "description": _WHEN[status]} for status in statuses}


#: What every route that needs an API key can answer, besides its own errors.
SECURED = (401, 403, 429)
#: ... and every such route that reads the warehouse (503 while a job writes it).
READ = (*SECURED, 503)


def error_json(code: str, message: str) -> bytes:
    """The common error body as bytes (for ASGI middleware that answers by itself)."""
    return json.dumps({"error": {"code": code, "message": message}}).encode()


class ApiError(Exception):
    """An HTTP error with a machine-readable code."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None,
                   details: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def status_of(exc: InsightloopError) -> tuple[int, str]:
    """HTTP status and code for an insightloop error."""
    if isinstance(exc, NotFoundError):
        return 404, "not_found"
    if isinstance(exc, WarehouseError | NotFittedError):
        return 409, "not_built"
    if isinstance(exc, ConfigError | FeatureMismatchError | ValueError):
        return 422, "invalid"
    return 400, "bad_request"


def install(app: FastAPI) -> None:
    """Register the handlers that turn every exception into the common body."""

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(InsightloopError)
    async def _domain(_: Request, exc: InsightloopError) -> JSONResponse:
        status, code = status_of(exc)
        return error_response(status, code, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, _CODES.get(exc.status_code, "error"),
                              str(exc.detail), dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
                   for e in exc.errors()]
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        return error_response(422, "validation_error",
                              f"{'.'.join(first['loc'])}: {first['msg']}", details=details)

    @app.exception_handler(ModuleNotFoundError)
    async def _missing(_: Request, exc: ModuleNotFoundError) -> JSONResponse:
        name = str(exc.name or "")
        if name.startswith("insightloop."):
            return error_response(501, "not_available",
                                  f"this installation has no {name.rsplit('.', 1)[-1]} "
                                  "service")
        raise exc

    # Anything else (a bug, or a library error no handler knows) is answered 500
    # ``internal_error`` by :class:`insightloop.api.middleware.HeadersAndLog`, which logs
    # the exception type only: with the security headers, and no traceback in the log.
