"""First-run data of scheduling: the appointment types a fresh clinic starts with.

Seeding is data, not schema, so it lives outside the migrations: ``ensure_seeded`` adds any seeded
type whose key is missing and never touches a type that exists (an admin's edits survive restarts,
and a type an admin deactivated stays deactivated). It runs from ``telehealth demo-data`` and at
app start-up when the table is empty; several instances starting together are safe because the
key is unique and a lost race is simply ignored.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from telehealth.actors import Caller
from telehealth.audit.chain import AuditRecord
from telehealth.scheduling import repository
from telehealth.scheduling.appointment_types import SEEDED_TYPES
from telehealth.scheduling.models import AppointmentTypeRow
from telehealth.unit_of_work import Services, unit_of_work

log = logging.getLogger(__name__)


async def ensure_seeded(services: Services) -> int:
    """Add the seeded appointment types that are missing; return how many were added."""
    try:
        async with unit_of_work(services, Caller(actor=None, ip="local")) as uow:
            existing = set((await uow.session.scalars(select(AppointmentTypeRow.key))).all())
            added = 0
            for seeded in SEEDED_TYPES:
                if seeded.key in existing:
                    continue
                row = AppointmentTypeRow(is_active=True, created_at=uow.now, updated_at=uow.now)
                repository.write_type(row, seeded)
                uow.session.add(row)
                uow.audit(
                    AuditRecord("appointment_type.seed", "appointment_type", resource_id=seeded.key)
                )
                added += 1
            return added
    except IntegrityError:
        # Another instance seeded the same keys at the same moment.
        return 0


async def seed_if_empty(services: Services) -> None:
    """At start-up: seed a fresh database; leave a used one (and an unmigrated one) alone."""
    try:
        async with services.sessions() as session:
            count = await session.scalar(select(func.count()).select_from(AppointmentTypeRow))
    except (OperationalError, ProgrammingError):
        log.warning("appointment types not seeded: the database is not migrated yet")
        return
    except OSError:
        # asyncpg's refused connection is not wrapped by SQLAlchemy; the app must still start so
        # that /readyz can say the database is down.
        log.warning("appointment types not seeded: the database is unreachable")
        return
    if not count:
        added = await ensure_seeded(services)
        log.info("seeded %d appointment types", added)
