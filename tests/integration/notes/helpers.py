"""Visits and notes for the notes integration tests: rows written as the scheduling tables hold them."""

from __future__ import annotations

import copy
import uuid
from datetime import datetime, timedelta
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from telehealth.scheduling.models import Appointment, AppointmentTypeRow
from telehealth.unit_of_work import Services
from tests.conftest import T0, Person, login
from tests.unit.notes.samples import daily_note

API = "/api/v1"


async def make_visit(
    services: Services,
    patient: Person,
    therapist: Person,
    start: datetime = T0,
    minutes: int = 45,
    status: str = "completed",
    evaluation: bool = False,
    modality: str = "virtual",
) -> uuid.UUID:
    """A visit between patient and therapist (its own appointment type, so keys never clash)."""
    now = services.clock.now()
    async with services.sessions() as session:
        kind = AppointmentTypeRow(
            key=f"visit-{uuid.uuid4().hex[:12]}",
            name="Evaluation" if evaluation else "Follow-up visit",
            description="",
            duration_minutes=minutes,
            buffer_before_minutes=0,
            buffer_after_minutes=0,
            min_notice_minutes=0,
            booking_horizon_minutes=60 * 24 * 90,
            cancellation_cutoff_minutes=0,
            modalities=[modality],
            billable_evaluation=evaluation,
            is_active=True,
            created_at=now,
            updated_at=now,
        )
        session.add(kind)
        await session.flush()
        end = start + timedelta(minutes=minutes)
        appointment = Appointment(
            patient_id=patient.id,
            therapist_id=therapist.id,
            type_id=kind.id,
            modality=modality,
            status=status,
            start_at=start,
            end_at=end,
            blocked_start=start,
            blocked_end=end,
            created_by=therapist.id,
            created_at=now,
            updated_at=now,
        )
        session.add(appointment)
        await session.commit()
        return appointment.id


async def bearer(client: TestClient, person: Person) -> dict[str, str]:
    """Bearer headers for a person; the login cookie is dropped so several people can take turns."""
    headers = await login(client, person)
    client.session.cookie_jar.clear()
    return headers


def note_url(appointment_id: uuid.UUID | str, suffix: str = "") -> str:
    """The API path of a visit's note."""
    return f"{API}/appointments/{appointment_id}/note{suffix}"


def signable_note(**changes: Any) -> dict[str, Any]:
    """The complete sample daily note, with top-level changes."""
    content = daily_note()
    content.update(copy.deepcopy(changes))
    return content


async def ok_json(response: ClientResponse, status: int = 200) -> Any:
    """The JSON body of a response that must have this status."""
    text = await response.text()
    assert response.status == status, text
    return await response.json()


async def open_and_save(
    client: TestClient, headers: dict[str, str], visit: uuid.UUID, content: dict[str, Any]
) -> dict[str, Any]:
    """Open a visit's note and save content into it; returns the saved note."""
    opened = await ok_json(await client.post(note_url(visit), json={}, headers=headers), status=201)
    saved: dict[str, Any] = await ok_json(
        await client.put(
            note_url(visit),
            json={"version": opened["version"], "content": content},
            headers=headers,
        )
    )
    return saved


async def write_signed_note(
    client: TestClient, headers: dict[str, str], visit: uuid.UUID, content: dict[str, Any]
) -> dict[str, Any]:
    """Open, save and sign a visit's note; returns the signed note."""
    saved = await open_and_save(client, headers, visit, content)
    signed: dict[str, Any] = await ok_json(
        await client.post(
            note_url(visit, "/sign"), json={"version": saved["version"]}, headers=headers
        )
    )
    return signed
