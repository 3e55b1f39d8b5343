"""Errors -> one JSON shape for the API, friendly pages for people. The one place that maps them."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from aiohttp import web

from telehealth.db_failures import RETRY_AFTER_SECONDS, unavailable
from telehealth.error_codes import ErrorCode
from telehealth.errors import DatabaseUnavailable, DomainError, NotAuthenticated, TooManyRequests
from telehealth.http.keys import OUTAGES, REQUEST_ID
from telehealth.http.security_headers import apply_security_headers
from telehealth.http.templates import render
from telehealth.http.types import Handler

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.NOT_AUTHENTICATED,
    403: ErrorCode.PERMISSION_DENIED,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    422: ErrorCode.INVALID_INPUT,
    429: ErrorCode.TOO_MANY_REQUESTS,
    503: ErrorCode.SERVICE_UNAVAILABLE,
}

_PAGE_TITLES = {
    400: "That request did not make sense",
    401: "Please sign in",
    403: "This page is not available to you",
    404: "We could not find that page",
    405: "That action is not available here",
    409: "That could not be done right now",
    413: "That was too large",
    415: "That kind of content is not accepted",
    422: "Please check what you entered",
    429: "Please wait a moment",
    500: "Something went wrong on our side",
    503: "We cannot reach our records right now",
}


def wants_json(request: web.Request) -> bool:
    """API paths answer JSON; everything else answers a page."""
    return request.path.startswith("/api/")


def error_body(
    request: web.Request, status: int, code: ErrorCode, message: str, details: Any = None
) -> dict[str, Any]:
    """The project's one error shape."""
    return {
        "error": {
            "code": code,
            "message": message,
            "details": details,
            "request_id": request.get(REQUEST_ID),
        }
    }


def error_response(
    request: web.Request,
    status: int,
    code: ErrorCode,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> web.StreamResponse:
    """An error as JSON (API) or as a page (site)."""
    if wants_json(request):
        response: web.StreamResponse = web.json_response(
            error_body(request, status, code, message, details), status=status, headers=headers
        )
    else:
        title = _PAGE_TITLES.get(status, "Something went wrong")
        response = render(
            request,
            "error.html",
            {"status": status, "title": title, "message": message, "code": code},
            status=status,
        )
        for name, value in (headers or {}).items():
            response.headers[name] = value
    apply_security_headers(request, response)
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure into the error shape; never let a traceback reach the client."""
    try:
        return await handler(request)
    except DomainError as exc:
        if (
            isinstance(exc, NotAuthenticated)
            and not wants_json(request)
            and request.method == "GET"
        ):
            raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='/')}") from None
        headers = None
        if isinstance(exc, (TooManyRequests, DatabaseUnavailable)):
            headers = {"Retry-After": str(exc.retry_after)}
        if isinstance(exc, DatabaseUnavailable):
            request.app[OUTAGES].report(exc, f"{request.method} {request.path}")
        return error_response(request, exc.status, exc.code, exc.message, exc.details, headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, ErrorCode.HTTP_ERROR)
        message = exc.reason if exc.status != 413 else "The request body is too large."
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
        return error_response(request, exc.status, code, message, None, headers)
    except Exception as exc:
        if unavailable(exc):
            # A database call outside any unit of work (none on the request path should be).
            request.app[OUTAGES].report(exc, f"{request.method} {request.path}")
            return error_response(
                request,
                503,
                DatabaseUnavailable.code,
                "The clinic's database is not answering right now. Please try again in a moment.",
                {"retry_after": RETRY_AFTER_SECONDS},
                {"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(
            request,
            500,
            ErrorCode.INTERNAL_ERROR,
            "Something went wrong on our side. Please try again; if it keeps happening, tell the clinic this code.",
            {"request_id": request.get(REQUEST_ID)},
        )
