"""Faster documentation: copy forward from the patient's previous signed note, and note templates
per appointment type (admins)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select
from yarl import URL

from telehealth.accounts.models import Role
from telehealth.audit.models import AuditEvent
from telehealth.scheduling.models import Appointment, AppointmentTypeRow
from telehealth.unit_of_work import Services
from tests.conftest import T0, People
from tests.integration.helpers import assert_error_shape
from tests.integration.notes.helpers import (
    API,
    bearer,
    make_visit,
    note_url,
    ok_json,
    signable_note,
    write_signed_note,
)


async def _copy(client: TestClient, headers: dict[str, str], visit: Any, version: int = 1) -> Any:
    return await client.post(
        note_url(visit, "/copy-forward"), json={"version": version}, headers=headers
    )


async def test_copy_forward_fills_a_new_draft_from_the_last_signed_note(
    client: TestClient, services: Services, people: People
) -> None:
    therapist = await people.make(Role.THERAPIST)
    patient = await people.make(Role.PATIENT)
    someone_else = await people.make(Role.PATIENT)
    headers = await bearer(client, therapist)
    older = await make_visit(services, patient, therapist, start=T0 - timedelta(days=7))
    last = await make_visit(services, patient, therapist, start=T0 - timedelta(days=3))
    # Another patient's more recent note must never be the source.
    theirs = await make_visit(services, someone_else, therapist, start=T0 - timedelta(days=1))
    await write_signed_note(client, headers, older, signable_note(subjective="older visit"))
    source = await write_signed_note(
        client, headers, last, signable_note(subjective="Knee hurts on stairs")
    )
    await write_signed_note(client, headers, theirs, signable_note(diagnoses=[{"code": "M54.50"}]))
    today = await make_visit(services, patient, therapist)
    await ok_json(await client.post(note_url(today), json={}, headers=headers), 201)

    copied = await ok_json(await _copy(client, headers, today))
    content, earlier = copied["content"], source["content"]
    assert copied["copied_from"] == source["id"]
    assert copied["copied_from_visit"].startswith((T0 - timedelta(days=3)).date().isoformat())
    assert content["diagnoses"] == earlier["diagnoses"]
    assert content["interventions"] == earlier["interventions"]
    assert content["home_program"] == earlier["home_program"]
    # Never the narrative or the signature: today's subjective is today's.
    assert content["subjective"] == "" and copied["status"] == "draft"
    assert copied["signature"] is None and copied["version"] == 2

    # Once the draft has content (the copy, or the therapist's typing), nothing is overwritten.
    await assert_error_shape(await _copy(client, headers, today, 2), 409, "draft_not_empty")
    async with services.sessions() as session:
        details = (
            await session.scalars(
                select(AuditEvent.details).where(
                    AuditEvent.action == "note.copy_forward", AuditEvent.outcome == "success"
                )
            )
        ).all()
    assert [d["copied_from"] for d in details] == [source["id"]]


async def test_copy_forward_finds_nothing_of_another_patient_or_outside_the_readers_scope(
    client: TestClient, services: Services, people: People
) -> None:
    therapist = await people.make(Role.THERAPIST)
    colleague = await people.make(Role.THERAPIST)
    patient = await people.make(Role.PATIENT)
    other = await people.make(Role.PATIENT)
    headers = await bearer(client, therapist)
    colleague_h = await bearer(client, colleague)
    # The other patient has a signed note with this therapist; this patient one by a colleague
    # whose notes this therapist may not read (care-team reading is off by default).
    mine_other = await make_visit(services, other, therapist, start=T0 - timedelta(days=2))
    await write_signed_note(client, headers, mine_other, signable_note())
    colleagues = await make_visit(services, patient, colleague, start=T0 - timedelta(days=1))
    await write_signed_note(client, colleague_h, colleagues, signable_note())
    today = await make_visit(services, patient, therapist)
    await ok_json(await client.post(note_url(today), json={}, headers=headers), 201)
    await assert_error_shape(await _copy(client, headers, today), 409, "nothing_to_copy")
    # The colleague's own next visit with the patient can copy it.
    theirs = await make_visit(services, patient, colleague, start=T0 + timedelta(hours=2))
    await ok_json(await client.post(note_url(theirs), json={}, headers=colleague_h), 201)
    assert (await ok_json(await _copy(client, colleague_h, theirs)))["copied_from"]
    # Someone else's visit: 404 as always.
    await assert_error_shape(await _copy(client, colleague_h, today), 404)


async def _type_key(services: Services, visit: Any) -> str:
    async with services.sessions() as session:
        key = await session.scalar(
            select(AppointmentTypeRow.key)
            .join(Appointment, Appointment.type_id == AppointmentTypeRow.id)
            .where(Appointment.id == visit)
        )
    assert key is not None
    return key


TEMPLATE = {
    "subjective": "Pain since last visit:\nHome exercises done:",
    "objective": "",
    "assessment": "Progress toward goals:",
    "plan": "Continue plan of care.",
    "interventions": [
        {
            "technique": "joint-mobilization",
            "region": "hip",
            "side": "right",
            "minutes": 10,
            "parameters": {"joint": "hip", "grade": "III", "direction": "long-axis distraction"},
        }
    ],
}


async def test_admins_keep_templates_and_a_new_draft_of_the_type_starts_from_it(
    client: TestClient, services: Services, people: People
) -> None:
    admin = await people.make(Role.ADMIN)
    therapist = await people.make(Role.THERAPIST)
    patient = await people.make(Role.PATIENT)
    admin_h = await bearer(client, admin)
    headers = await bearer(client, therapist)
    patient_h = await bearer(client, patient)
    first = await make_visit(services, patient, therapist, start=T0 - timedelta(days=1))
    key = await _type_key(services, first)
    url = f"{API}/note-templates/{key}"

    for who in (headers, patient_h):
        await assert_error_shape(await client.get(url, headers=who), 403)
        await assert_error_shape(
            await client.put(url, json={"version": 0, "document": TEMPLATE}, headers=who), 403
        )
    await assert_error_shape(await client.get(f"{API}/note-templates/nope", headers=admin_h), 404)
    empty = await ok_json(await client.get(url, headers=admin_h))
    assert empty["version"] == 0 and empty["document"] == {}
    bad = {**TEMPLATE, "interventions": [{"technique": "no_such_thing", "minutes": 5}]}
    await assert_error_shape(
        await client.put(url, json={"version": 0, "document": bad}, headers=admin_h), 422
    )
    saved = await ok_json(
        await client.put(url, json={"version": 0, "document": TEMPLATE}, headers=admin_h)
    )
    assert saved["version"] == 1 and saved["note_type"] == "daily"
    await assert_error_shape(
        await client.put(url, json={"version": 0, "document": TEMPLATE}, headers=admin_h),
        409,
        "stale_version",
    )

    opened = await ok_json(await client.post(note_url(first), json={}, headers=headers), 201)
    assert opened["content"]["subjective"] == TEMPLATE["subjective"]
    assert [line["technique"] for line in opened["content"]["interventions"]] == [
        "joint-mobilization"
    ]
    # A re-evaluation on this slot is another note type: it starts empty.
    other = await make_visit(services, patient, therapist)
    async with services.sessions() as session:
        row = await session.get(Appointment, other)
        assert row is not None
        row.type_id = (await session.get(Appointment, first)).type_id  # type: ignore[union-attr]
        await session.commit()
    reeval = await ok_json(
        await client.post(note_url(other), json={"note_type": "re_evaluation"}, headers=headers),
        201,
    )
    assert reeval["content"]["subjective"] == "" and reeval["content"]["interventions"] == []

    listed = await ok_json(await client.get(f"{API}/note-templates", headers=admin_h))
    assert {t["type_key"]: t["version"] for t in listed["items"]}[key] == 1
    async with services.sessions() as session:
        audited = (
            await session.scalars(
                select(AuditEvent.resource_id).where(AuditEvent.action == "note_template.update")
            )
        ).all()
    assert list(audited).count(key) >= 1


async def test_the_admin_page_saves_a_new_version(
    client: TestClient, services: Services, people: People
) -> None:
    from tests.integration.helpers import csrf_from_page
    from tests.integration.scheduling.test_pages import page_sign_in

    admin = await people.make(Role.ADMIN)
    therapist = await people.make(Role.THERAPIST)
    patient = await people.make(Role.PATIENT)
    visit = await make_visit(services, patient, therapist)
    key = await _type_key(services, visit)
    await page_sign_in(client, admin)
    listing = await client.get("/admin/note-templates")
    assert listing.status == 200 and f"/admin/note-templates/{key}" in await listing.text()
    token = await csrf_from_page(client, f"/admin/note-templates/{key}")
    form = {
        "csrf_token": token,
        "version": "0",
        "subjective": "How did the week go?",
        "objective": "",
        "assessment": "",
        "plan": "",
        "interventions": "[]",
    }
    saved = await client.post(f"/admin/note-templates/{key}", data=form, allow_redirects=False)
    assert saved.status == 303, await saved.text()
    page = await (await client.get(saved.headers["Location"])).text()
    assert "Saved as version 1." in page and "How did the week go?" in page
    stale = await client.post(f"/admin/note-templates/{key}", data=form, allow_redirects=False)
    assert stale.status == 409 and "changed by someone else" in await stale.text()
    broken = await client.post(
        f"/admin/note-templates/{key}",
        data={**form, "version": "1", "interventions": "[{"},
        allow_redirects=False,
    )
    assert broken.status == 422 and "not a valid JSON list" in await broken.text()
    # A key that names no type (NUL is refused by PostgreSQL's text) is a 404 page on both verbs.
    nul = URL("/admin/note-templates/a%00b", encoded=True)
    assert (await client.get(nul)).status == 404
    assert (await client.post(nul, data=form, allow_redirects=False)).status == 404
