"""Audit trail API (admins)."""

from __future__ import annotations

from aiohttp import web

from telehealth.audit import service
from telehealth.audit.schemas import AuditEventOut, AuditPageOut, AuditQuery
from telehealth.http.api import Api
from telehealth.http.context import caller_of
from telehealth.http.keys import SERVICES

api = Api()


def filter_of(query: AuditQuery) -> service.AuditFilter:
    """The service filter for validated query parameters."""
    return service.AuditFilter(**query.model_dump())


@api.get(
    "/audit",
    query=AuditQuery,
    response=AuditPageOut,
    summary="Browse the audit trail (admin)",
    tags=("audit",),
)
async def list_audit(request: web.Request, query: AuditQuery) -> AuditPageOut:
    """Filtered audit events, newest first."""
    events = await service.search(request.app[SERVICES], caller_of(request), filter_of(query))
    next_before = events[-1].seq if len(events) == query.limit else None
    return AuditPageOut(
        items=[AuditEventOut.model_validate(e) for e in events], next_before_seq=next_before
    )
