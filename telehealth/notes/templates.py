"""Note templates per appointment type (admins), and the template a new draft starts from.

Each edit stores the next version of the type's template (one JSON document per version, never
changed afterwards), compare-and-set on the version the admin saw, and is audited.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.accounts.access import require_admin
from telehealth.actors import Caller
from telehealth.audit.chain import AuditRecord
from telehealth.catalog.store import CatalogStore
from telehealth.error_codes import ErrorCode
from telehealth.errors import Conflict, NotFound
from telehealth.notes.models import NoteTemplateVersion
from telehealth.notes.rules import NoteType
from telehealth.notes.template_rules import validate_template
from telehealth.scheduling.models import AppointmentTypeRow
from telehealth.unit_of_work import Services, unit_of_work


@dataclass(frozen=True)
class TemplateView:
    """An appointment type's note template in force (version 0: none yet)."""

    type_key: str
    type_name: str
    note_type: NoteType
    version: int
    document: dict[str, Any]
    updated_at: datetime | None
    updated_by: uuid.UUID | None


def note_type_for(type_row: AppointmentTypeRow) -> NoteType:
    """The note type a visit of this appointment type starts with."""
    return "initial_evaluation" if type_row.billable_evaluation else "daily"


async def current_template(session: AsyncSession, type_key: str) -> NoteTemplateVersion | None:
    """The newest template version of an appointment type, if any."""
    return await session.scalar(
        select(NoteTemplateVersion)
        .where(NoteTemplateVersion.type_key == type_key)
        .order_by(NoteTemplateVersion.version.desc())
        .limit(1)
    )


# Appointment type keys are short slugs; anything else (NUL, control characters, a path) names no
# type, and is answered 404 before it reaches the database (PostgreSQL refuses NUL in text).
_TYPE_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,47}")


async def _type(session: AsyncSession, type_key: str) -> AppointmentTypeRow:
    if not _TYPE_KEY.fullmatch(type_key):
        raise NotFound("No such appointment type.")
    row = await session.scalar(select(AppointmentTypeRow).where(AppointmentTypeRow.key == type_key))
    if row is None:
        raise NotFound("No such appointment type.")
    return row


def _view(type_row: AppointmentTypeRow, current: NoteTemplateVersion | None) -> TemplateView:
    return TemplateView(
        type_key=type_row.key,
        type_name=type_row.name,
        note_type=note_type_for(type_row),
        version=current.version if current else 0,
        document=dict(current.document) if current else {},
        updated_at=current.created_at if current else None,
        updated_by=current.created_by if current else None,
    )


async def list_templates(services: Services, caller: Caller) -> list[TemplateView]:
    """Every appointment type with its template in force (admins)."""
    async with unit_of_work(services, caller) as uow:
        require_admin(uow.actor)
        types = (
            await uow.session.scalars(select(AppointmentTypeRow).order_by(AppointmentTypeRow.name))
        ).all()
        return [_view(t, await current_template(uow.session, t.key)) for t in types]


async def get_template(services: Services, caller: Caller, type_key: str) -> TemplateView:
    """One appointment type's template in force (admins)."""
    async with unit_of_work(services, caller) as uow:
        require_admin(uow.actor)
        type_row = await _type(uow.session, type_key)
        return _view(type_row, await current_template(uow.session, type_key))


async def put_template(
    services: Services,
    catalogs: CatalogStore,
    caller: Caller,
    type_key: str,
    version: int,
    document: Mapping[str, Any],
) -> TemplateView:
    """Store the next version of a type's template, if `version` is still the one in force."""
    async with unit_of_work(services, caller) as uow:
        require_admin(uow.actor)
        type_row = await _type(uow.session, type_key)
        current = await current_template(uow.session, type_key)
        in_force = current.version if current else 0
        if version != in_force:
            raise Conflict(
                "This template was changed by someone else since you loaded it.",
                code=ErrorCode.STALE_VERSION,
                details={"version": in_force},
            )
        catalog = await catalogs.current(uow.session)
        normalized = validate_template(document, note_type_for(type_row), catalog)
        row = NoteTemplateVersion(
            type_key=type_key,
            version=in_force + 1,
            document=normalized,
            created_by=uow.actor.id,
            created_at=uow.now,
        )
        try:
            async with uow.session.begin_nested():
                uow.session.add(row)
        except IntegrityError:
            raise Conflict(
                "This template was changed at the same moment; reload and try again.",
                code=ErrorCode.STALE_VERSION,
            ) from None
        uow.audit(
            AuditRecord(
                "note_template.update",
                "note_template",
                resource_id=type_key,
                details={"version": row.version, "interventions": len(normalized["interventions"])},
            )
        )
        return _view(type_row, row)
