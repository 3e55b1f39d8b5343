"""A patient keeps a preferred contact channel and an emergency contact on their details page;
their therapist reads them beside the phone; refusals are in words and keep what was typed."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from telehealth.accounts.models import Role, User
from telehealth.audit.models import AuditEvent
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.helpers import csrf_from_page, sign_in

_INVALID = re.compile(r'<input id="([^"]+)"[^>]* aria-invalid="true"')
_CHECKED = re.compile(r'name="preferred_contact" value="([a-z_]+)" checked')


async def stored(services: Services, person_id: object) -> User:
    async with services.sessions.reading() as session:
        user = await session.scalar(select(User).where(User.id == person_id))
        assert user is not None
        return user


def details(token: str, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "display_name": "Pat Patient",
        "phone": "+1 555 0100",
        "time_zone": "America/New_York",
        **fields,
    }


CONTACT = {
    "emergency_name": "Rosa Patient",
    "emergency_phone": "+1 (555) 0177 x12",
    "emergency_relationship": "daughter",
}


async def test_a_patient_sets_a_channel_and_an_emergency_contact_their_therapist_reads(
    client: TestClient, services: Services, people: People
) -> None:
    patient = await people.make(Role.PATIENT, "Pat Patient")
    therapist = await people.make(Role.THERAPIST)
    await people.assign(patient, therapist)
    await sign_in(client, patient)
    page = await (await client.get("/me/details")).text()
    assert "How should the clinic reach you?" in page and _CHECKED.findall(page) == []
    token = await csrf_from_page(client, "/me/details")
    saved = await client.post(
        "/me/details",
        data=details(token, preferred_contact="text_message", **CONTACT),
        allow_redirects=False,
    )
    assert (saved.status, saved.headers["Location"]) == (303, "/me/details?saved=1")
    user = await stored(services, patient.id)
    assert (
        user.preferred_contact,
        user.emergency_name,
        user.emergency_phone,
        user.emergency_relationship,
    ) == ("text_message", "Rosa Patient", "+1 (555) 0177 x12", "daughter")
    page = await (await client.get("/me/details")).text()
    assert _CHECKED.findall(page) == ["text_message"]
    assert 'value="Rosa Patient"' in page and 'value="daughter"' in page

    await sign_in(client, therapist)
    home = await (await client.get("/")).text()
    assert "Prefers: Text message" in home
    assert "Rosa Patient (daughter)," in home and 'href="tel:+155501771"' not in home
    assert ">+1 (555) 0177 x12</a>" in home

    # Emptied, the contact is removed; the channel may be left unchosen.
    await sign_in(client, patient)
    token = await csrf_from_page(client, "/me/details")
    cleared = await client.post("/me/details", data=details(token), allow_redirects=False)
    assert cleared.status == 303
    user = await stored(services, patient.id)
    assert (user.preferred_contact, user.emergency_name, user.emergency_phone) == (
        None,
        None,
        None,
    )
    async with services.sessions.reading() as session:
        events = await session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "account.update", AuditEvent.patient_id == patient.id
            )
        )
        fields = sorted((e.details["fields"] for e in events), key=len, reverse=True)
    assert fields == [
        ["phone", "preferred_contact", "emergency_contact"],
        ["preferred_contact", "emergency_contact"],
    ]


async def test_refusals_name_the_field_and_keep_every_typed_value(
    client: TestClient, services: Services, people: People
) -> None:
    patient = await people.make(Role.PATIENT, "Pat Patient")
    await sign_in(client, patient)
    token = await csrf_from_page(client, "/me/details")
    cases: list[tuple[dict[str, str], str, str]] = [
        (
            {**CONTACT, "emergency_phone": ""},
            "emergency_phone",
            "please give their phone number too, or leave all three empty.",
        ),
        (
            {"emergency_name": "Rosa"},
            "emergency_phone",
            "please give their phone number and who they are to you too",
        ),
        ({**CONTACT, "emergency_phone": "call Rosa"}, "emergency_phone", "is not a phone number"),
        ({**CONTACT, "emergency_phone": "12"}, "emergency_phone", "is not a phone number"),
        ({**CONTACT, "emergency_phone": "1" * 40}, "emergency_phone", "longer than 32"),
        ({**CONTACT, "emergency_name": "R" * 150}, "emergency_name", "at most 120 characters"),
    ]
    for fields, field, words in cases:
        refused = await client.post(
            "/me/details", data=details(token, preferred_contact="phone_call", **fields)
        )
        page = await refused.text()
        assert refused.status == 422, fields
        assert words in page, (fields, page[:1500])
        assert _INVALID.findall(page) == [field], fields
        assert _CHECKED.findall(page) == ["phone_call"]
        for value in fields.values():
            assert f'value="{value}"' in page, value
    carrier = await client.post(
        "/me/details", data=details(token, preferred_contact="carrier_pigeon")
    )
    assert carrier.status == 422
    assert "Please choose email, a phone call or a text message." in await carrier.text()
    nul = await client.post("/me/details", data=details(token, emergency_name="Ro\x00sa"))
    assert nul.status in (400, 422) and "text/html" in nul.headers["Content-Type"]
    user = await stored(services, patient.id)
    assert (user.preferred_contact, user.emergency_name) == (None, None)


async def test_only_patients_keep_these_and_only_their_care_team_reads_them(
    client: TestClient, services: Services, people: People
) -> None:
    patient = await people.make(Role.PATIENT, "Pat Patient")
    stranger = await people.make(Role.THERAPIST)
    await sign_in(client, patient)
    token = await csrf_from_page(client, "/me/details")
    saved = await client.post("/me/details", data=details(token, **CONTACT), allow_redirects=False)
    assert saved.status == 303
    # A therapist not on the patient's team sees nothing of it; her own page has no such fields.
    await sign_in(client, stranger)
    assert "Rosa Patient" not in await (await client.get("/")).text()
    page = await (await client.get("/me/details")).text()
    assert "Emergency contact" not in page
    token = await csrf_from_page(client, "/me/details")
    answer: Any = await client.post(
        "/me/details",
        data=details(token, display_name="Sam Stranger", **CONTACT),
        allow_redirects=False,
    )
    assert answer.status == 303  # her own details saved; the patient-only fields ignored
    assert (await stored(services, stranger.id)).emergency_name is None
