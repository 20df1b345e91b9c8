"""RFC 9457 problem responses for every error the API returns.

One handler maps the ``PipError`` tree to a status code; FastAPI's request
validation errors become 422 problems naming each field; HTTP errors raised by
Starlette (unknown route, wrong method) and anything unexpected become problems
too. Problem bodies carry the error's own message (which may never hold a
secret), never the offending input and never a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from pip_service.errors import (
    AuthenticationError,
    ConfigError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PipError,
    RateLimitedError,
    SourceAuthError,
    SourceError,
    TransientSourceError,
    UnavailableError,
)
from pip_service.logging import redact

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
BODY_PARSE_ERROR = "There was an error parsing the body"  # FastAPI's 400 for undecodable bodies
_LOCATIONS = {"body", "query", "path", "header", "cookie"}
_STATUS: tuple[tuple[type[PipError], int], ...] = (
    (AuthenticationError, 401),
    (ForbiddenError, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (ConfigError, 422),
    (RateLimitedError, 503),
    (TransientSourceError, 503),
    (SourceAuthError, 502),
    (SourceError, 502),
    (UnavailableError, 503),
)
_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Invalid input",
    500: "Internal error",
    502: "Source system error",
    503: "Unavailable",
}


class FieldProblem(BaseModel):
    """One field that was wrong."""

    field: str
    message: str
    location: str | None = Field(default=None, alias="in")


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldProblem] = Field(default_factory=list)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries declaring problem+json answers with these statuses."""
    return {
        status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": _TITLES[status]}
        for status in statuses
    }


PROBLEM_RESPONSES = problem_responses(401, 403, 404, 409, 422)


def status_for(error: PipError) -> int:
    """The HTTP status of an error of the tree."""
    for cls, status in _STATUS:
        if isinstance(error, cls):
            return status
    return 500


def problem_response(
    status: int,
    code: str,
    detail: str,
    errors: Sequence[dict[str, str]] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A ``application/problem+json`` response."""
    body = {
        "type": f"urn:pip-service:problem:{code}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": redact(detail),
        "code": code,
        "errors": [{**item, "message": redact(item["message"])} for item in errors],
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def field_errors(details: dict[str, Any]) -> list[dict[str, str]]:
    """Per-field errors carried by a ``PipError`` (``errors=[...]`` or ``field=...``)."""
    listed = details.get("errors")
    if isinstance(listed, list):
        return [
            {"field": str(item.get("field", "")), "message": str(item.get("message", ""))}
            for item in listed
            if isinstance(item, dict)
        ]
    if "field" in details:
        return [{"field": str(details["field"]), "message": str(details.get("reason", ""))}]
    return []


async def pip_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Map the error tree to problem responses."""
    assert isinstance(exc, PipError)
    status = status_for(exc)
    errors = field_errors(exc.details)
    for item in errors:
        item["message"] = item["message"] or exc.message
    headers = _headers_for(exc, status)
    if status >= 500:
        logger.warning("%s %s failed: %s (%s)", request.method, request.url.path, exc.code, exc)
    return problem_response(status, exc.code, exc.message, errors, headers)


async def validation_handler(request: Request, exc: Exception) -> JSONResponse:
    """422 naming each invalid field (never echoing the input)."""
    assert isinstance(exc, RequestValidationError)
    errors = [_field_problem(error) for error in exc.errors()]
    names = ", ".join(sorted({item["field"] for item in errors}))
    return problem_response(422, "validation_error", f"Invalid input: {names}", errors)


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's HTTP errors (404 route, 405 method...) as problems."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == BODY_PARSE_ERROR:
        body = [{"field": "body", "message": "The body is not valid JSON", "in": "body"}]
        return problem_response(422, "validation_error", "Invalid input: body", body)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    return problem_response(exc.status_code, code, detail, headers=headers or None)


def allowed_methods(request: Request) -> str:
    """Every method some route serves at the request's path (the routes are one per method)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods - {"HEAD"}))


async def unexpected_handler(request: Request, exc: Exception) -> JSONResponse:
    """Anything unexpected: logged (redacted), answered with a generic 500 problem."""
    logger.error("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(500, "internal_error", "An unexpected error occurred")


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers on an app."""
    app.add_exception_handler(PipError, pip_error_handler)
    app.add_exception_handler(RequestValidationError, validation_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(Exception, unexpected_handler)


def _field_problem(error: dict[str, Any]) -> dict[str, str]:
    loc = [str(part) for part in error.get("loc", ())]
    location = loc[0] if loc and loc[0] in _LOCATIONS else "body"
    parts = loc[1:] if loc and loc[0] in _LOCATIONS else loc
    if error.get("type") == "json_invalid":
        parts = []
    return {
        "field": ".".join(parts) or location,
        "message": str(error.get("msg", "")),
        "in": location,
    }


def _headers_for(exc: PipError, status: int) -> dict[str, str] | None:
    if status == 401:
        return {"WWW-Authenticate": 'Bearer realm="pip-service"'}
    if isinstance(exc, RateLimitedError) and exc.retry_after:
        return {"Retry-After": str(int(exc.retry_after))}
    return None
