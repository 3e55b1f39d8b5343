"""Per-request context: request id, client address, and the Caller handed to services."""

from __future__ import annotations

import contextvars
import re
import secrets

from aiohttp import web

from telehealth.actors import Actor, Caller
from telehealth.errors import NotAuthenticated
from telehealth.http.keys import CLIENT_IP, CURRENT_SESSION, REQUEST_ID, SETTINGS
from telehealth.http.schemas import printable
from telehealth.http.types import Handler

# Read by the log formatter so every line written while handling a request names it.
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def _client_ip(request: web.Request) -> str:
    if request.app[SETTINGS].trust_forwarded_for:
        forwarded = request.headers.get("X-Forwarded-For", "")
        # The proxy appends the address it saw; the right-most entry is the one it vouches for.
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return printable(hops[-1][:64])
    return (request.remote or "unknown")[:64]


@web.middleware
async def request_context_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give the request an id (kept from the proxy when well-formed) and a client address."""
    incoming = request.headers.get("X-Request-ID", "")
    request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else secrets.token_hex(8)
    request[REQUEST_ID] = request_id
    request[CLIENT_IP] = _client_ip(request)
    token = request_id_var.set(request_id)
    try:
        response = await handler(request)
        response.headers["X-Request-ID"] = request_id
        return response
    except web.HTTPException as exc:
        exc.headers["X-Request-ID"] = request_id
        raise
    finally:
        request_id_var.reset(token)


def current_actor(request: web.Request) -> Actor | None:
    """The signed-in actor, if any."""
    current = request.get(CURRENT_SESSION)
    return current.actor if current else None


def current_token_hash(request: web.Request) -> str | None:
    """The stored hash of the request's session token, if it has a valid session."""
    current = request.get(CURRENT_SESSION)
    return current.token_hash if current else None


def require_actor(request: web.Request) -> Actor:
    """The signed-in actor, or 401."""
    actor = current_actor(request)
    if actor is None:
        raise NotAuthenticated("Please sign in.")
    return actor


def caller_of(request: web.Request) -> Caller:
    """The Caller services receive: actor plus where the request came from."""
    return Caller(
        actor=current_actor(request),
        ip=request[CLIENT_IP],
        request_id=request[REQUEST_ID],
        user_agent=printable(request.headers.get("User-Agent", "")[:256]),
    )
