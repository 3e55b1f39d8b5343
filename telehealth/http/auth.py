"""Who is asking: session cookie or bearer token; and CSRF protection for browser requests.

Rules, in order, for a state-changing method (POST, PUT, PATCH, DELETE):
- an Origin header, when present, must be this site's own origin (or PUBLIC_URL's);
- with a session cookie, the request must carry the session's CSRF token (X-CSRF-Token header or
  csrf_token form field); a bearer token is not ambient, so it needs none;
- without a session, a form post must carry the double-submit token of the th_csrf cookie.
JSON bodies cannot be posted cross-site without a CORS preflight, which this service never grants.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from aiohttp import web

from telehealth.config import Settings
from telehealth.error_codes import ErrorCode
from telehealth.errors import DomainError, NotAuthenticated
from telehealth.http.context import caller_of
from telehealth.http.forms import read_form
from telehealth.http.keys import (
    ANONYMOUS_CSRF,
    AUTH_METHOD,
    CREDENTIALS,
    CURRENT_SESSION,
    SERVICES,
    SESSION_RESOLVER,
    SETTINGS,
)
from telehealth.http.sessions import IssuedSession
from telehealth.http.types import Handler
from telehealth.unit_of_work import UnitOfWork, unit_of_work

H = TypeVar("H", bound=Callable[..., Any])

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ANONYMOUS_CSRF_COOKIE = "th_csrf"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# What tokens.new_token makes (URL-safe base64). Anything else cannot be a session, and is not
# hashed or looked up: header bytes that are not UTF-8 arrive as lone surrogates.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,128}")
# The attribute `session_in_work` sets on a handler.
_IN_WORK = "telehealth_session_in_work"


class CsrfRejected(DomainError):
    """The request could have been forged by another site."""

    status = 403
    code = ErrorCode.CSRF_FAILED


def session_cookie_name(settings: Settings) -> str:
    """__Host- prefixed over https: the browser then refuses it without Secure, Path=/ and no Domain."""
    return "__Host-th_session" if settings.uses_https else "th_session"


def device_cookie_name(settings: Settings) -> str:
    """The trusted-device cookie, prefixed like the session cookie."""
    return "__Host-th_device" if settings.uses_https else "th_device"


def device_token(request: web.Request) -> str | None:
    """The trusted-device token the browser presents, if any (checked by the sign-in service)."""
    return request.cookies.get(device_cookie_name(request.app[SETTINGS])) or None


def set_session_cookie(
    response: web.StreamResponse, settings: Settings, signed_in: IssuedSession
) -> None:
    """Hand the new session, and the device token of this sign-in, to the browser."""
    response.set_cookie(
        session_cookie_name(settings),
        signed_in.token,
        max_age=int(settings.session_absolute.total_seconds()),
        path="/",
        httponly=True,
        secure=settings.uses_https,
        samesite="Lax",
    )
    if signed_in.device_token:
        # Strict: it is only ever needed on this site's own sign-in form and API call. It stays
        # after sign-out, which is the point: it says "this browser signed in here before".
        response.set_cookie(
            device_cookie_name(settings),
            signed_in.device_token,
            max_age=int(settings.login_device_lifetime.total_seconds()),
            path="/",
            httponly=True,
            secure=settings.uses_https,
            samesite="Strict",
        )


def clear_session_cookie(response: web.StreamResponse, settings: Settings) -> None:
    """Forget the session in the browser."""
    response.del_cookie(
        session_cookie_name(settings), path="/", secure=settings.uses_https, samesite="Lax"
    )


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def _well_formed(token: str) -> bool:
    return _TOKEN.fullmatch(token) is not None


def _same_origin(request: web.Request, settings: Settings) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser, or a same-origin GET-like navigation: nothing to compare
    own = f"{request.scheme}://{request.host}"
    return origin in (own, settings.public_origin)


async def _submitted_token(request: web.Request) -> str:
    header = request.headers.get("X-CSRF-Token")
    if header:
        return header
    if request.content_type in FORM_TYPES:
        form = await read_form(request)
        value = form.get("csrf_token")
        return value if isinstance(value, str) else ""
    return ""


def _matches(expected: str, given: str) -> bool:
    # Both sides come from the client at some point (cookies, headers): only ASCII compares.
    if not expected or not expected.isascii() or not given.isascii():
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def _credentials(request: web.Request) -> tuple[str, str] | None:
    """How the request says who it is: ("bearer", token), ("cookie", token) or None."""
    bearer = _bearer(request)
    if bearer is not None:
        return ("bearer", bearer)
    cookie = request.cookies.get(session_cookie_name(request.app[SETTINGS]))
    return ("cookie", cookie) if cookie else None


def session_in_work(handler: H) -> H:
    """Mark a handler that opens the request's unit of work itself (`request_work`): its
    session is looked up inside that unit of work, not in a transaction of its own before."""
    setattr(handler, _IN_WORK, True)
    return handler


def _resolves_in_work(request: web.Request) -> bool:
    return bool(getattr(request.match_info.handler, _IN_WORK, False))


async def authenticate_in(request: web.Request, uow: UnitOfWork) -> None:
    """Look the request's session up in `uow`, and let the unit of work act for its person.

    A bearer token that is not a live session is refused (401); a stale cookie is simply no
    session (the page then asks to sign in, and the cookie is cleared).
    """
    credentials = request[CREDENTIALS]
    current = None
    if credentials is not None:
        method, token = credentials
        if _well_formed(token):
            current = await request.app[SESSION_RESOLVER](request.app[SERVICES], uow, token)
        if method == "bearer" and current is None:
            raise NotAuthenticated(
                "The token is not valid or has expired.", code=ErrorCode.INVALID_TOKEN
            )
        request[AUTH_METHOD] = method if current else "none"
    else:
        request[AUTH_METHOD] = "none"
    request[CURRENT_SESSION] = current
    uow.caller = caller_of(request)


async def check_csrf(request: web.Request) -> None:
    """Refuse a state-changing request another site could have made (rules at the top)."""
    if request.method in SAFE_METHODS:
        return
    if not _same_origin(request, request.app[SETTINGS]):
        raise CsrfRejected("This request came from another site and was refused.")
    current = request[CURRENT_SESSION]
    if current is not None and request[AUTH_METHOD] == "cookie":
        if not _matches(current.csrf_token, await _submitted_token(request)):
            raise CsrfRejected("The form has expired. Please reload the page and try again.")
    elif (
        current is None
        and request.content_type in FORM_TYPES
        and not _matches(
            request.cookies.get(ANONYMOUS_CSRF_COOKIE, ""), await _submitted_token(request)
        )
    ):
        raise CsrfRejected("The form has expired. Please reload the page and try again.")


@asynccontextmanager
async def request_work(
    request: web.Request, *, reads_only: bool = False
) -> AsyncIterator[UnitOfWork]:
    """The request's one unit of work: the session lookup, the CSRF check, the handler's reads
    and writes and all their audit records share its transaction.

    The handler must be marked `session_in_work`, or the middleware has already looked the
    session up in a transaction of its own (then this one only does the work). `reads_only` is
    the unit of work's promise that the work changes no data.
    """
    if request.method not in SAFE_METHODS and request.content_type in FORM_TYPES:
        # Read the body before the transaction opens: a slow client holds no connection.
        await read_form(request)
    async with unit_of_work(
        request.app[SERVICES], caller_of(request), reads_only=reads_only
    ) as uow:
        if CURRENT_SESSION not in request:
            await authenticate_in(request, uow)
            await check_csrf(request)
        yield uow


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Resolve the session (unless the handler does so in its own unit of work), enforce CSRF,
    and keep an anonymous form token for sign-in pages."""
    settings = request.app[SETTINGS]
    credentials = request[CREDENTIALS] = _credentials(request)
    if credentials is None:
        request[AUTH_METHOD] = "none"
        request[CURRENT_SESSION] = None
        await check_csrf(request)
    elif not _resolves_in_work(request):
        async with unit_of_work(request.app[SERVICES], caller_of(request), reads_only=True) as uow:
            await authenticate_in(request, uow)
        await check_csrf(request)

    anonymous_token = request.cookies.get(ANONYMOUS_CSRF_COOKIE, "")
    fresh_anonymous = None
    if credentials is None and not anonymous_token:
        fresh_anonymous = secrets.token_urlsafe(24)
    request[ANONYMOUS_CSRF] = anonymous_token or fresh_anonymous or ""
    response = await handler(request)
    replaced = session_cookie_name(settings) in response.cookies
    # Only once a lookup found no session: a handler that never looked leaves the cookie alone.
    stale = credentials is not None and credentials[0] == "cookie"
    stale = stale and CURRENT_SESSION in request and request[CURRENT_SESSION] is None
    if stale and not response.prepared and not replaced:
        clear_session_cookie(response, settings)
    if fresh_anonymous and not response.prepared and response.content_type == "text/html":
        response.set_cookie(
            ANONYMOUS_CSRF_COOKIE,
            fresh_anonymous,
            path="/",
            httponly=True,
            secure=settings.uses_https,
            samesite="Strict",
        )
    return response
