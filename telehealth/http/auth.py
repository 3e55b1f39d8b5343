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

from aiohttp import web

from telehealth.config import Settings
from telehealth.error_codes import ErrorCode
from telehealth.errors import DomainError, NotAuthenticated
from telehealth.http.forms import read_form
from telehealth.http.keys import (
    ANONYMOUS_CSRF,
    AUTH_METHOD,
    CURRENT_SESSION,
    SERVICES,
    SESSION_RESOLVER,
    SETTINGS,
)
from telehealth.http.sessions import IssuedSession
from telehealth.http.types import Handler

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ANONYMOUS_CSRF_COOKIE = "th_csrf"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# What tokens.new_token makes (URL-safe base64). Anything else cannot be a session, and is not
# hashed or looked up: header bytes that are not UTF-8 arrive as lone surrogates.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,128}")


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


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Resolve the session, enforce CSRF, and keep an anonymous form token for sign-in pages."""
    settings = request.app[SETTINGS]
    services = request.app[SERVICES]
    resolve_session = request.app[SESSION_RESOLVER]
    bearer = _bearer(request)
    cookie = request.cookies.get(session_cookie_name(settings))
    current = None
    if bearer is not None:
        current = await resolve_session(services, bearer) if _well_formed(bearer) else None
        if current is None:
            raise NotAuthenticated(
                "The token is not valid or has expired.", code=ErrorCode.INVALID_TOKEN
            )
        request[AUTH_METHOD] = "bearer"
    elif cookie:
        current = await resolve_session(services, cookie) if _well_formed(cookie) else None
        request[AUTH_METHOD] = "cookie" if current else "none"
    else:
        request[AUTH_METHOD] = "none"
    request[CURRENT_SESSION] = current

    anonymous_token = request.cookies.get(ANONYMOUS_CSRF_COOKIE, "")
    if request.method not in SAFE_METHODS:
        if not _same_origin(request, settings):
            raise CsrfRejected("This request came from another site and was refused.")
        if current is not None and request[AUTH_METHOD] == "cookie":
            if not _matches(current.csrf_token, await _submitted_token(request)):
                raise CsrfRejected("The form has expired. Please reload the page and try again.")
        elif (
            current is None
            and request.content_type in FORM_TYPES
            and not _matches(anonymous_token, await _submitted_token(request))
        ):
            raise CsrfRejected("The form has expired. Please reload the page and try again.")

    fresh_anonymous = None
    if current is None and not anonymous_token:
        fresh_anonymous = secrets.token_urlsafe(24)
    request[ANONYMOUS_CSRF] = anonymous_token or fresh_anonymous or ""
    response = await handler(request)
    replaced = session_cookie_name(settings) in response.cookies
    if cookie and current is None and not response.prepared and not replaced:
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
