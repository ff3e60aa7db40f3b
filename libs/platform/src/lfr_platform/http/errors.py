"""The one JSON error shape, `{"error": {"code", "message", "details"}}`, for every failure an app reports."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from lfr_platform.errors import LfrError
from lfr_platform.http.correlation import HEADER, current_correlation_id

_STATUS_CODES = {
    400: "invalid_input",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "too_many_requests",
    503: "unavailable",
}


class ErrorDetail(BaseModel):
    code: str = Field(description="machine-readable, stable")
    message: str = Field(description="for humans")
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorBody(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in [
        (400, "Malformed request"),
        (401, "Missing or invalid bearer token"),
        (403, "Role lacks the permission"),
        (413, "Request body too large"),
        (422, "Invalid input or a domain rule refused the command"),
    ]
}


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    all_headers = dict(headers or {})
    correlation_id = current_correlation_id()
    if correlation_id:
        all_headers[HEADER] = correlation_id
    return JSONResponse(body, status_code=status, headers=all_headers)


async def _lfr_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, LfrError)
    headers = {"WWW-Authenticate": "Bearer"} if error.http_status == 401 else None
    return error_response(error.http_status, error.code, error.message, error.details, headers)


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = error.errors()
    if any(problem.get("type") == "json_invalid" for problem in problems):
        reason = next(p.get("ctx", {}).get("error", "") for p in problems if p.get("type") == "json_invalid")
        return error_response(
            400,
            "invalid_input",
            f"request body is not valid JSON: {reason}".rstrip(": "),
            {"fields": ["body"]},
        )
    # Echo where and what, never the offending input (it may be large, or personal data).
    fields = [
        {
            "field": ".".join(str(part) for part in p.get("loc", ())),
            "problem": p.get("msg", ""),
            "type": p.get("type"),
        }
        for p in problems
    ]
    summary = "; ".join(f"{f['field']}: {f['problem']}" for f in fields[:5])
    return error_response(422, "invalid_input", f"invalid request: {summary}", {"fields": fields})


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = _STATUS_CODES.get(error.status_code, "error" if error.status_code < 500 else "internal_error")
    detail = error.detail
    message = detail if isinstance(detail, str) else code.replace("_", " ")
    details: dict[str, Any] = detail if isinstance(detail, dict) else {}
    return error_response(error.status_code, code, message, details, dict(error.headers or {}))


async def _unexpected(_request: Request, _error: Exception) -> JSONResponse:
    # Last resort for failures outside the routes (UnhandledErrorMiddleware covers the routes themselves).
    correlation_id = current_correlation_id()
    return error_response(
        500,
        "internal_error",
        f"internal error; quote correlation id {correlation_id} when reporting it",
        {"correlation_id": correlation_id},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Exception, _unexpected)
    app.add_exception_handler(LfrError, _lfr_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
