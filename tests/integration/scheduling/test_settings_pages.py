"""The admin's scheduling settings pages: clinic closures and visit types, with plain forms.

Refusals come back as the form with the admin's words in it; patients and therapists are turned
away; malformed input is a clear 4xx, never a server error."""

from __future__ import annotations

import re
from datetime import date, timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from telehealth.accounts.models import Role
from telehealth.audit.models import AuditEvent
from telehealth.scheduling.models import AppointmentTypeRow, ClinicClosure
from telehealth.unit_of_work import Services
from tests.conftest import T0, People
from tests.integration.helpers import csrf_from_page
from tests.integration.scheduling.test_pages import page_sign_in

TOMORROW = (T0 + timedelta(days=1)).date()
_INVALID = re.compile(r'<(?:input|select) id="([^"]+)"[^>]* aria-invalid="true"')


async def closures(services: Services) -> dict[date, str]:
    async with services.sessions.reading() as session:
        return {r.day: r.reason for r in await session.scalars(select(ClinicClosure))}


async def audited(services: Services, action: str) -> list[str | None]:
    async with services.sessions.reading() as session:
        rows = await session.scalars(select(AuditEvent).where(AuditEvent.action == action))
        return [r.resource_id for r in rows]


async def follow_up(services: Services) -> AppointmentTypeRow:
    async with services.sessions.reading() as session:
        row = await session.scalar(
            select(AppointmentTypeRow).where(AppointmentTypeRow.key == "follow_up")
        )
        assert row is not None
        return row


async def test_an_admin_closes_a_day_and_reopens_it(
    client: TestClient, services: Services, people: People
) -> None:
    admin = await people.make(Role.ADMIN)
    await page_sign_in(client, admin)
    home = await (await client.get("/")).text()
    assert 'href="/admin/closures"' in home and 'href="/admin/visit-types"' in home
    page = await client.get("/admin/closures")
    assert page.status == 200 and "The clinic has no closed days ahead." in await page.text()
    token = await csrf_from_page(client, "/admin/closures")

    closed = await client.post(
        "/admin/closures",
        data={"csrf_token": token, "day": TOMORROW.isoformat(), "reason": "Staff training"},
    )
    text = await closed.text()
    assert closed.status == 200 and str(closed.url).endswith(f"closed={TOMORROW.isoformat()}")
    assert "The clinic is closed on Tuesday 3 March 2026." in text
    assert "Tuesday 3 March 2026</strong> · Staff training" in text
    assert await closures(services) == {TOMORROW: "Staff training"}
    assert await audited(services, "closure.add") == [TOMORROW.isoformat()]

    reopened = await client.post(
        f"/admin/closures/{TOMORROW.isoformat()}/reopen", data={"csrf_token": token}
    )
    text = await reopened.text()
    assert reopened.status == 200 and "The clinic is open again on Tuesday 3 March 2026." in text
    assert "The clinic has no closed days ahead." in text
    assert await closures(services) == {}
    assert await audited(services, "closure.remove") == [TOMORROW.isoformat()]


async def test_closure_refusals_are_in_words_and_keep_what_was_typed(
    client: TestClient, services: Services, people: People
) -> None:
    admin = await people.make(Role.ADMIN)
    await page_sign_in(client, admin)
    token = await csrf_from_page(client, "/admin/closures")
    first = await client.post(
        "/admin/closures", data={"csrf_token": token, "day": TOMORROW.isoformat(), "reason": "A"}
    )
    assert first.status == 200
    yesterday = (T0 - timedelta(days=1)).date().isoformat()
    cases = [
        (yesterday, 422, "Sunday 1 March 2026 has already passed. Please choose today or a later"),
        (TOMORROW.isoformat(), 409, "The clinic is already closed on Tuesday 3 March 2026 (A)."),
        ("2026-02-30", 422, "Please give the date as a calendar day, for example 2026-12-24"),
        ("next friday", 422, "Please give the date as a calendar day"),
        ("", 422, "Please give the date as a calendar day"),
    ]
    for day, status, words in cases:
        refused = await client.post(
            "/admin/closures", data={"csrf_token": token, "day": day, "reason": "Flood"}
        )
        text = await refused.text()
        assert refused.status == status, (day, text[:500])
        assert words in text, day
        assert f'name="day" type="date" required value="{day}"' in text
        assert 'value="Flood"' in text
        assert _INVALID.findall(text) == ["closure-day"]
    long_reason = await client.post(
        "/admin/closures",
        data={"csrf_token": token, "day": "2026-03-10", "reason": "r" * 201},
    )
    assert long_reason.status == 422
    assert await closures(services) == {TOMORROW: "A"}
    nul = await client.post("/admin/closures", data={"csrf_token": token, "day": "2026-03-1\x000"})
    assert nul.status in (400, 422) and "text/html" in nul.headers["Content-Type"]
    for bad in ("2026-03-09", "not-a-day", "2026-13-01"):
        missing = await client.post(f"/admin/closures/{bad}/reopen", data={"csrf_token": token})
        assert missing.status == 404, bad
        assert "The clinic is not closed that day. Nothing was changed." in await missing.text()
    no_token = await client.post(f"/admin/closures/{TOMORROW}/reopen", data={})
    assert no_token.status == 403
    assert await closures(services) == {TOMORROW: "A"}


async def test_patients_and_therapists_are_turned_away_from_the_settings_pages(
    client: TestClient, services: Services, people: People
) -> None:
    kind = await follow_up(services)
    for role in (Role.PATIENT, Role.THERAPIST):
        person = await people.make(role)
        await page_sign_in(client, person)
        token = await csrf_from_page(client, "/me/details")
        for path in ("/admin/closures", "/admin/visit-types", f"/admin/visit-types/{kind.id}"):
            assert (await client.get(path)).status == 403, (role, path)
        posts = [
            ("/admin/closures", {"day": TOMORROW.isoformat()}),
            (f"/admin/closures/{TOMORROW}/reopen", {}),
            (f"/admin/visit-types/{kind.id}", {"duration_minutes": "5"}),
        ]
        for path, data in posts:
            answer = await client.post(path, data={"csrf_token": token, **data})
            assert answer.status == 403, (role, path)
    assert await closures(services) == {}
    assert (await follow_up(services)).duration_minutes == kind.duration_minutes


def type_form(row: AppointmentTypeRow, **changes: str) -> dict[str, str]:
    values = {
        "name": row.name,
        "duration_minutes": str(row.duration_minutes),
        "buffer_before_minutes": str(row.buffer_before_minutes),
        "buffer_after_minutes": str(row.buffer_after_minutes),
        "min_notice_minutes": str(row.min_notice_minutes),
        "booking_horizon_minutes": str(row.booking_horizon_minutes),
        "cancellation_cutoff_minutes": str(row.cancellation_cutoff_minutes),
        "modalities": "both",
        "patient_bookable": "true" if row.patient_bookable else "false",
        "is_active": "true",
        "display_order": str(row.display_order),
    }
    return {**values, **changes}


async def test_an_admin_edits_a_visit_type(
    client: TestClient, services: Services, people: People
) -> None:
    admin = await people.make(Role.ADMIN)
    await page_sign_in(client, admin)
    kind = await follow_up(services)
    listing = await (await client.get("/admin/visit-types")).text()
    assert f'href="/admin/visit-types/{kind.id}"' in listing
    edit = await client.get(f"/admin/visit-types/{kind.id}")
    assert edit.status == 200
    token = await csrf_from_page(client, f"/admin/visit-types/{kind.id}")
    saved = await client.post(
        f"/admin/visit-types/{kind.id}",
        data={
            "csrf_token": token,
            **type_form(
                kind,
                duration_minutes="50",
                buffer_after_minutes="10",
                cancellation_cutoff_minutes="720",
                modalities="virtual",
                patient_bookable="false",
                display_order="7",
            ),
        },
    )
    text = await saved.text()
    assert saved.status == 200 and f"{kind.name} is saved." in text
    row = await follow_up(services)
    assert (row.duration_minutes, row.buffer_after_minutes, row.cancellation_cutoff_minutes) == (
        50,
        10,
        720,
    )
    assert (row.modalities, row.patient_bookable, row.display_order) == (["virtual"], False, 7)
    assert '<td data-label="Length">50 min</td>' in text and "No, staff book it" in text
    assert await audited(services, "appointment_type.update") == ["follow_up"]
    # The API reads what the page wrote: one service behind both.
    api = await client.get("/api/v1/appointment-types")
    assert api.status == 200
    again = await (await client.get(f"/admin/visit-types/{kind.id}")).text()
    assert (
        'id="duration_minutes" name="duration_minutes" inputmode="numeric" required value="50"'
        in again
    )
    assert '<option value="false" selected>No</option>' in again


async def test_visit_type_refusals_name_their_fields_and_keep_the_values(
    client: TestClient, services: Services, people: People
) -> None:
    admin = await people.make(Role.ADMIN)
    await page_sign_in(client, admin)
    kind = await follow_up(services)
    path = f"/admin/visit-types/{kind.id}"
    token = await csrf_from_page(client, path)
    cases = [
        (
            {"booking_horizon_minutes": "30", "min_notice_minutes": "60"},
            ["booking_horizon_minutes"],
            "Furthest ahead to book must be longer than shortest notice to book.",
        ),
        ({"duration_minutes": "0"}, ["duration_minutes"], "Length of the visit must be positive."),
        (
            {"duration_minutes": "forty", "display_order": "-3"},
            ["duration_minutes", "display_order"],
            "Please check Length of the visit, Place in lists:",
        ),
        ({"name": ""}, ["name"], "Please check Name: give each a value"),
        ({"modalities": "telepathy"}, ["modalities"], "Please check Held:"),
        ({"patient_bookable": "maybe"}, ["patient_bookable"], "Please check Patients may book"),
    ]
    for changes, fields, words in cases:
        refused = await client.post(path, data={"csrf_token": token, **type_form(kind, **changes)})
        text = await refused.text()
        assert refused.status == 422, (changes, text[:300])
        assert words in text, (changes, re.findall(r'role="alert"[^>]*>([^<]*)', text))
        assert sorted(_INVALID.findall(text)) == sorted(fields), changes
        for name, value in changes.items():
            if name not in ("modalities", "patient_bookable"):
                assert f'name="{name}"' in text and f'value="{value}"' in text, name
    assert (await follow_up(services)).duration_minutes == kind.duration_minutes
    assert await audited(services, "appointment_type.update") == []
    nul = await client.post(path, data={"csrf_token": token, **type_form(kind, name="Fo\x00")})
    assert nul.status in (400, 422) and "text/html" in nul.headers["Content-Type"]
    for unknown in ("00000000-0000-4000-8000-000000000000", "not-a-uuid"):
        assert (await client.get(f"/admin/visit-types/{unknown}")).status == 404
        posted = await client.post(
            f"/admin/visit-types/{unknown}", data={"csrf_token": token, **type_form(kind)}
        )
        assert posted.status == 404
