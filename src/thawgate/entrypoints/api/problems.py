"""The one table that maps domain errors to RFC 9457 problem+json."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from thawgate.domain import errors

PROBLEMS: dict[type[errors.DomainError], tuple[str, int, str]] = {
    errors.Unauthenticated: ("unauthenticated", 401, "Unauthenticated"),
    errors.Forbidden: ("forbidden", 403, "Forbidden by policy"),
    errors.SeparationOfDuties: ("separation-of-duties", 403, "Separation of duties"),
    errors.NotFound: ("not-found", 404, "Not found"),
    errors.Conflict: ("conflict", 409, "Conflict"),
    errors.Stale: ("stale", 409, "Stale state"),
    errors.ValidationFailed: ("validation", 422, "Validation failed"),
    errors.IdempotencyMismatch: ("idempotency-mismatch", 422, "Idempotency-Key reused"),
    errors.PolicyError: ("validation", 422, "Invalid policy"),
    errors.TooManyAttempts: ("too-many-attempts", 429, "Too many attempts"),
}
MEDIA_TYPE = "application/problem+json"
RETRY_AFTER_S = 1  # what a 503 asks the client to wait: the pool reconnects on the next request
log = logging.getLogger(__name__)


def problem(slug: str, status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": f"urn:thawgate:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:
        headers = {"Retry-After": str(RETRY_AFTER_S)}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _domain(_request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, errors.DomainError):
        raise exc
    for cls in type(exc).__mro__:
        if cls in PROBLEMS:
            slug, status, title = PROBLEMS[cls]
            extra: dict[str, Any] = {}
            if isinstance(exc, errors.ValidationFailed) and exc.field:
                extra["field"] = exc.field
            if isinstance(exc, errors.Forbidden) and exc.policy_ids:
                extra["policies"] = list(exc.policy_ids)
            return problem(slug, status, title, exc.detail, **extra)
    return problem("internal", 500, "Internal error", exc.detail)


def _invalid(_request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):
        raise exc
    parts = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            position = err.get("loc", ("body", "?"))[-1]
            parts.append(f"body: not valid JSON ({err.get('msg')} at position {position})")
            continue
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{loc or 'body'}: {err.get('msg', 'invalid')}")
    return problem(
        "validation",
        422,
        "Validation failed",
        "; ".join(parts),
        errors=[
            {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg")}
            for e in exc.errors()
        ],
    )


def _http(_request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, StarletteHTTPException):
        raise exc
    slug = {
        401: "unauthenticated",
        403: "forbidden",
        404: "not-found",
        405: "method-not-allowed",
        409: "conflict",
    }.get(exc.status_code, "error")
    return problem(slug, exc.status_code, str(exc.detail), str(exc.detail))


def database_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    """The database dropped the connection or could not answer (a restart, a failover, a lock
    it gave up on). The unit of work rolled back, so nothing was half done: retry. Any other
    OperationalError (SQLite files its SQL errors under it) stays a 500, logged with its
    traceback: a retry would fail the same way."""
    if not isinstance(exc, sa.exc.OperationalError) or not transient(exc):
        raise exc
    log.warning("database unavailable: %s", exc.orig)
    return problem(
        "unavailable", 503, "Service unavailable", "the database did not answer; retry shortly"
    )


def _data_refused(_request: Request, exc: Exception) -> JSONResponse:
    """The database refused a value the client sent (PostgreSQL: a NUL character in a path id, a
    number beyond its column). The unit of work rolled back. Request bodies are checked before
    this (schemas.py); this is the net for what reaches a query unchecked."""
    if not isinstance(exc, sa.exc.DataError):
        raise exc
    log.warning("database refused a value: %s", exc.orig)
    return problem(
        "validation",
        422,
        "Validation failed",
        "a value in the request cannot be stored or looked up (a NUL character, or too long "
        "or too large)",
    )


# PostgreSQL SQLSTATE classes worth a retry: connection exception, transaction rollback
# (serialization failure, deadlock), insufficient resources, operator intervention (shutdown,
# cancel); and lock_not_available. SQLite: the database is busy or locked.
_TRANSIENT_CLASSES = frozenset({"08", "40", "53", "57"})
_TRANSIENT_STATES = frozenset({"55P03"})
_SQLITE_TRANSIENT = frozenset({5, 6})  # SQLITE_BUSY, SQLITE_LOCKED


def transient(exc: sa.exc.OperationalError) -> bool:
    """Would a retry in a moment likely succeed (the connection, a lock, a shutdown)?"""
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):  # the primary result code, under any extended one
        return (getattr(orig, "sqlite_errorcode", 0) & 0xFF) in _SQLITE_TRANSIENT
    state = getattr(orig, "sqlstate", None)
    if state is None:  # psycopg: no server answer at all (cannot connect, connection lost)
        return True
    return state[:2] in _TRANSIENT_CLASSES or state in _TRANSIENT_STATES


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.DomainError, _domain)
    app.add_exception_handler(sa.exc.OperationalError, database_unavailable)
    app.add_exception_handler(sa.exc.DataError, _data_refused)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http)
    _describe_problems(app)


# What every problem carries (RFC 9457); a 422 from `_invalid` adds `errors`, others `field` or
# `policies`.
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "examples": ["urn:thawgate:problem:validation"]},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "field": {"type": "string"},
        "policies": {"type": "array", "items": {"type": "string"}},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}


def _describe_problems(app: FastAPI) -> None:
    """The OpenAPI document gives each route's 422 as the problem+json `_invalid` answers, not
    FastAPI's default `HTTPValidationError`."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        ref = {"$ref": "#/components/schemas/Problem"}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                answer = operation.get("responses", {}).get("422")
                if answer is not None:
                    answer["content"] = {MEDIA_TYPE: {"schema": ref}}
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas["Problem"] = PROBLEM_SCHEMA
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
