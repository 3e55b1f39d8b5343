"""Security headers on every response, and no-store on everything that is not a static asset."""

from __future__ import annotations

from aiohttp import web

from telehealth.http.keys import SETTINGS
from telehealth.http.types import Handler

# No inline script anywhere: every page's JavaScript is a module under /static.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PERMISSIONS_POLICY = "camera=(self), microphone=(self), display-capture=(self), geolocation=()"


def apply_security_headers(
    request: web.Request, headers: web.StreamResponse | web.HTTPException
) -> None:
    """Set the headers on a response or on an HTTP exception about to be sent."""
    h = headers.headers
    h.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    h.setdefault("X-Content-Type-Options", "nosniff")
    # same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on form posts,
    # which the CSRF origin check must refuse. URLs (with ids) still never leak to other sites.
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.app[SETTINGS].uses_https:
        h.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    if request.path.startswith("/static/"):
        h.setdefault("Cache-Control", "public, max-age=3600")
    else:
        # Pages and API answers may carry patient data: never keep them in any cache.
        h["Cache-Control"] = "no-store"
        h.setdefault("Pragma", "no-cache")


@web.middleware
async def security_headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Add the headers whatever the handler returned or raised."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        apply_security_headers(request, exc)
        raise
    if not response.prepared:
        apply_security_headers(request, response)
    return response
