"""Background work of scheduling: seeding at start-up and marking no-shows.

The no-show pass is safe with several app instances running it at once: each row changes with a
conditional ``UPDATE ... WHERE id = :id AND status = 'booked'``, so only one instance's update
counts (PostgreSQL re-checks the condition after waiting for the other's row lock; SQLite
serializes writers) and only that instance audits it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from aiohttp import web
from sqlalchemy import select, update

from telehealth.actors import Caller
from telehealth.audit.chain import AuditRecord
from telehealth.errors import DatabaseUnavailable
from telehealth.http.keys import SERVICES
from telehealth.scheduling.lifecycle import NO_SHOW_GRACE, Status
from telehealth.scheduling.models import Appointment
from telehealth.scheduling.seed import seed_if_empty
from telehealth.unit_of_work import Services, unit_of_work

log = logging.getLogger(__name__)

# Minutes matter for a no-show, seconds do not; one pass a minute per instance is plenty.
NO_SHOW_INTERVAL_SECONDS = 60.0
# Rows per pass: a backlog (the service was down for a day) drains over a few passes.
NO_SHOW_BATCH = 200


async def mark_no_shows(services: Services) -> int:
    """One pass: mark booked appointments whose start + grace has passed; return how many."""
    async with unit_of_work(services, Caller(actor=None, ip="local")) as uow:
        due = (
            await uow.session.execute(
                select(Appointment.id, Appointment.patient_id, Appointment.therapist_id)
                .where(
                    Appointment.status == Status.BOOKED.value,
                    Appointment.start_at <= uow.now - NO_SHOW_GRACE,
                    # A visit whose note was started (or signed) is being documented: a person
                    # decides whether it was missed, the pass never does.
                    Appointment.note_id.is_(None),
                )
                # A total order: two instances' passes lock shared rows in the same order.
                .order_by(Appointment.start_at, Appointment.id)
                .limit(NO_SHOW_BATCH)
            )
        ).all()
        marked = 0
        for appointment_id, patient_id, therapist_id in due:
            result = await uow.session.execute(
                update(Appointment)
                .where(
                    Appointment.id == appointment_id,
                    Appointment.status == Status.BOOKED.value,
                    Appointment.note_id.is_(None),
                )
                .values(
                    status=Status.NO_SHOW.value,
                    no_show_at=uow.now,
                    updated_at=uow.now,
                    version=Appointment.version + 1,
                )
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) == 1:
                marked += 1
                uow.calendar_changed(therapist_id)
                uow.audit(
                    AuditRecord(
                        "appointment.mark_no_show",
                        "appointment",
                        resource_id=str(appointment_id),
                        patient_id=patient_id,
                        details={"from": "booked", "to": "no_show", "by": "system"},
                    )
                )
        return marked


async def _no_show_loop(services: Services, interval: timedelta) -> None:
    while True:
        await asyncio.sleep(interval.total_seconds())
        try:
            count = await mark_no_shows(services)
        except DatabaseUnavailable:
            # The requests meeting the outage log it; a traceback a minute adds nothing.
            log.warning("no-show pass skipped: the database is unavailable")
            continue
        except Exception:
            # A failed pass must not end the loop; the next one retries.
            log.exception("no-show pass failed")
            continue
        if count:
            log.info("marked %d appointments as no-show", count)


async def scheduling_background(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: seed a fresh database, then run the no-show pass until the app stops."""
    services = app[SERVICES]
    await seed_if_empty(services)
    task = asyncio.create_task(
        _no_show_loop(services, timedelta(seconds=NO_SHOW_INTERVAL_SECONDS)), name="no-shows"
    )
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
