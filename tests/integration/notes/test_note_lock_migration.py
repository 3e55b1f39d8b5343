"""Migration 0008 tells visits documented before it about their notes, on both engines."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import column, insert, select, table
from sqlalchemy.ext.asyncio import create_async_engine

from telehealth.accounts.models import User
from telehealth.migrate import alembic_config, upgrade
from telehealth.notes.models import VisitNote
from telehealth.scheduling.models import Appointment, AppointmentTypeRow
from tests.conftest import base_settings
from tests.integration.migrations.test_migrations import empty_database  # noqa: F401 - fixture

NOW = datetime(2026, 3, 2, 14, tzinfo=UTC)


def _user(role: str) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "email": f"{role}-{uuid.uuid4().hex[:8]}@example.test",
        "display_name": role,
        "role": role,
        "password_hash": "!",
        "is_active": True,
        "time_zone": "UTC",
        "created_at": NOW,
        "updated_at": NOW,
    }


def _visit(
    type_id: uuid.UUID, patient: uuid.UUID, therapist: uuid.UUID, day: int
) -> dict[str, Any]:
    start = NOW + timedelta(days=day)
    return {
        "id": uuid.uuid4(),
        "patient_id": patient,
        "therapist_id": therapist,
        "type_id": type_id,
        "modality": "virtual",
        "status": "completed",
        "start_at": start,
        "end_at": start + timedelta(minutes=45),
        "blocked_start": start,
        "blocked_end": start + timedelta(minutes=45),
        "reason": "",
        "created_by": therapist,
        "created_at": NOW,
        "updated_at": NOW,
        "late_cancellation": False,
        "version": 1,
    }


def _note(visit: dict[str, Any], signed: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": uuid.uuid4(),
        "appointment_id": visit["id"],
        "patient_id": visit["patient_id"],
        "therapist_id": visit["therapist_id"],
        "note_type": "daily",
        "content": {"note_type": "daily"},
        "status": "signed" if signed else "draft",
        "version": 2,
        "created_at": NOW,
        "updated_at": NOW,
    }
    if signed:
        row.update(
            signed_by=visit["therapist_id"], signed_at=NOW, content_hash="a" * 64, seal="b" * 64
        )
    return row


async def _seed(url: str) -> tuple[dict[str, Any], ...]:
    patient, therapist = _user("patient"), _user("therapist")
    kind: dict[str, Any] = {
        "id": uuid.uuid4(),
        "key": "follow_up_old",
        "name": "Follow-up",
        "description": "",
        "duration_minutes": 45,
        "buffer_before_minutes": 0,
        "buffer_after_minutes": 0,
        "min_notice_minutes": 0,
        "booking_horizon_minutes": 1000,
        "cancellation_cutoff_minutes": 0,
        "modalities": ["virtual"],
        "billable_evaluation": False,
        "is_active": True,
        "created_at": NOW,
        "updated_at": NOW,
    }
    visits = [_visit(kind["id"], patient["id"], therapist["id"], day) for day in range(3)]
    signed, draft = _note(visits[0], True), _note(visits[1], False)
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            # Only the columns that existed at revision 0007.
            await conn.execute(insert(User), [patient, therapist])
            # Written as the table stood then: the model's later columns (and their defaults) did
            # not exist yet.
            columns = AppointmentTypeRow.__table__.c
            then = table("appointment_types", *(column(k, columns[k].type) for k in kind))
            await conn.execute(insert(then), [kind])
            await conn.execute(insert(Appointment), visits)
            for note in (signed, draft):
                await conn.execute(insert(VisitNote).values(**note))
    finally:
        await engine.dispose()
    return visits[0], visits[1], visits[2], signed, draft


async def _marks(url: str) -> dict[uuid.UUID, tuple[Any, Any]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(Appointment.id, Appointment.note_id, Appointment.note_signed_at)
            )
            return {row[0]: (row[1], row[2]) for row in rows}
    finally:
        await engine.dispose()


def test_visits_with_notes_are_marked(empty_database: str, tmp_path: Path) -> None:  # noqa: F811
    # The SQLite file's folder (the app's own upgrade creates it; plain Alembic does not).
    (tmp_path / "fresh").mkdir(exist_ok=True)
    command.upgrade(alembic_config(empty_database), "0007")
    with_signed, with_draft, without, signed, draft = asyncio.run(_seed(empty_database))
    upgrade(base_settings(tmp_path, empty_database))
    marks = asyncio.run(_marks(empty_database))
    assert marks[with_signed["id"]] == (signed["id"], NOW)
    assert marks[with_draft["id"]] == (draft["id"], None)
    assert marks[without["id"]] == (None, None)
