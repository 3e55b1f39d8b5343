"""Hands the web layer the accounts feature's session lookup (http/ imports no feature)."""

from __future__ import annotations

from aiohttp import web

from telehealth.accounts.service import resolve_session_in
from telehealth.http.keys import SESSION_RESOLVER


def setup(app: web.Application) -> None:
    """Let the auth middleware resolve session and bearer tokens with the accounts service."""
    app[SESSION_RESOLVER] = resolve_session_in
