"""Audit API models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from telehealth.http.schemas import QueryInstant, QueryModel, ResponseModel, SafeStr


class AuditQuery(QueryModel):
    """Filters for the audit trail."""

    actor_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None
    action: SafeStr | None = Field(default=None, max_length=64)
    outcome: Literal["success", "failure", "denied"] | None = None
    # A time without a zone is not an instant (and the UTC columns refuse it).
    since: QueryInstant | None = None
    until: QueryInstant | None = None
    limit: int = Field(default=100, ge=1, le=500)
    before_seq: int | None = Field(default=None, ge=1, le=2**63 - 1)  # seq is a BIGINT


class AuditEventOut(ResponseModel):
    """One audited action."""

    seq: int
    at: datetime
    actor_id: uuid.UUID | None
    actor_role: str | None
    action: str
    resource_type: str
    resource_id: str | None
    patient_id: uuid.UUID | None
    outcome: str
    ip: str | None
    request_id: str | None
    details: dict[str, Any]


class AuditPageOut(ResponseModel):
    """Newest first; pass before_seq=next_before_seq for the next page."""

    items: list[AuditEventOut]
    next_before_seq: int | None
