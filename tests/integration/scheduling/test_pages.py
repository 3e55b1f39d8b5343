"""The scheduling pages work with plain forms (no JavaScript) for each role."""

from __future__ import annotations

import re
from datetime import timedelta

from aiohttp.test_utils import TestClient

from telehealth.accounts.models import Role
from telehealth.clock import ManualClock
from telehealth.unit_of_work import Services
from tests.conftest import People, Person
from tests.integration.helpers import csrf_from_page
from tests.integration.scheduling.support import (
    book,
    count_appointments,
    make_clinic,
    set_hours,
    utc,
)
from tests.integration.visits.support import pair, virtual_visit

_FIELD = re.compile(r'name="(csrf_token|request_key|start|therapist_id)" value="([^"]+)"')


async def page_sign_in(client: TestClient, person: Person) -> None:
    """Sign in through the form: the browser's cookie session."""
    client.session.cookie_jar.clear()
    token = await csrf_from_page(client, "/login")
    response = await client.post(
        "/login",
        data={"email": person.email, "password": person.password, "csrf_token": token, "next": "/"},
        allow_redirects=False,
    )
    assert response.status == 303


async def test_patient_books_without_javascript(
    client: TestClient, services: Services, people: People
) -> None:
    therapist = await people.make(Role.THERAPIST)
    patient = await people.make(Role.PATIENT, time_zone="Europe/London")
    await set_hours(services, therapist.user)
    await page_sign_in(client, patient)
    home = await (await client.get("/")).text()
    assert 'href="/book"' in home and "no upcoming visits" in home
    choose = await client.get("/book")
    assert choose.status == 200
    slots = await (await client.get("/book?type=follow_up&modality=virtual")).text()
    # 09:00 New York shown as 2:00 PM in the patient's London time (no language asked for: the
    # clinic's en-US clock), and as 14:00 to a browser that asks for British English.
    assert ">2:00 PM<" in slots, slots
    british = {"Accept-Language": "en-GB,en;q=0.9"}
    british_slots = await client.get("/book?type=follow_up&modality=virtual", headers=british)
    assert ">14:00<" in await british_slots.text()
    confirm_link = re.search(r'href="(/book/confirm\?[^"]+)"', slots)
    assert confirm_link is not None
    confirm = await (await client.get(confirm_link.group(1).replace("&amp;", "&"))).text()
    fields = dict(_FIELD.findall(confirm))
    form = {**fields, "type": "follow_up", "modality": "virtual", "reason": "knee"}
    booked = await client.post("/book", data=form, allow_redirects=False)
    assert booked.status == 303, await booked.text()
    # Submitting the same form twice (double click) books once.
    again = await client.post("/book", data=form, allow_redirects=False)
    assert again.status == 303 and again.headers["Location"] == booked.headers["Location"]
    assert await count_appointments(services) == 1
    detail = await (await client.get(booked.headers["Location"])).text()
    assert (
        "Your visit is booked." in detail
        and "calendar.ics" in detail
        and "The video room opens" in detail  # a day early: the door is not open yet
        and "Check your camera and connection now" in detail
    )
    home = await (await client.get("/")).text()
    assert "Follow-up visit" in home
    cancel = await client.post(
        booked.headers["Location"].split("?")[0] + "/action",
        data={"csrf_token": fields["csrf_token"], "action": "cancel", "reason": ""},
        allow_redirects=False,
    )
    assert cancel.status == 303
    assert "cancelled" in await (await client.get(booked.headers["Location"])).text()


async def test_patient_home_offers_the_video_visit_once_its_room_opens(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    clinic = await make_clinic(client, services, people)
    start = utc(2026, 3, 3, 14)  # Tuesday 09:00 in New York, the patient's zone
    booked = await book(client, clinic.patient_h, start, therapist_id=clinic.therapist.user.id)
    assert booked.status == 201, await booked.text()
    await page_sign_in(client, clinic.patient)
    # The room opens 15 minutes before the start (visits/rules.OPENS_BEFORE).
    clock.set(start - timedelta(minutes=16))
    home = await (await client.get("/")).text()
    assert "Join video visit" not in home
    assert "The video room opens today at 8:45 AM (in 1 minute)." in home
    # A reader whose browser asks for British English reads a 24-hour clock; a day ahead,
    # "tomorrow"; the visit's own page says the same and offers the device check meanwhile.
    clock.set(start - timedelta(hours=23))
    british = {"Accept-Language": "en-GB,en;q=0.9"}
    home = await (await client.get("/", headers=british)).text()
    assert "The video room opens tomorrow at 08:45 (in about 23 hours)." in home
    detail = await (await client.get(f"/appointments/{(await booked.json())['id']}")).text()
    assert "The video room opens tomorrow at 8:45 AM (in about 23 hours)." in detail
    assert "Check your camera and connection now" in detail
    assert "Join the video visit" not in detail
    clock.set(start - timedelta(minutes=15))
    home = await (await client.get("/")).text()
    assert "Join video visit" in home and "The video room opens" not in home
    detail = await (await client.get(f"/appointments/{(await booked.json())['id']}")).text()
    assert "Join the video visit" in detail and "The video room opens" not in detail


async def test_therapist_agenda_and_hours_and_admin_calendar(
    client: TestClient, services: Services, people: People
) -> None:
    therapist = await people.make(Role.THERAPIST)
    admin = await people.make(Role.ADMIN)
    patient = await people.make(Role.PATIENT)
    await page_sign_in(client, therapist)
    hours = await client.get("/availability")
    assert hours.status == 200
    token = await csrf_from_page(client, "/availability")
    form = {"csrf_token": token, "therapist_id": str(therapist.id), "time_zone": "America/New_York"}
    form.update({f"d{d}_0_start": "09:00" for d in range(5)})
    form.update({f"d{d}_0_end": "17:00" for d in range(5)})
    saved = await client.post("/availability", data=form)
    assert saved.status == 200 and "Your hours are saved." in await saved.text()
    bad = await client.post(
        "/availability", data={**form, "d0_1_start": "10:00", "d0_1_end": "11:00"}
    )
    assert bad.status == 422 and "overlap" in await bad.text()

    await page_sign_in(client, admin)
    calendar = await client.get("/admin/calendar?day=2026-03-02")
    assert calendar.status == 200
    fields = dict(_FIELD.findall(await calendar.text()))
    booked = await client.post(
        "/admin/calendar/book",
        data={
            "csrf_token": fields["csrf_token"],
            "request_key": fields["request_key"],
            "patient_id": str(patient.id),
            "therapist_id": str(therapist.id),
            "type": "follow_up",
            "modality": "virtual",
            "day": "2026-03-03",
            "time": "10:00",
        },
        allow_redirects=False,
    )
    assert booked.status == 303, await booked.text()
    week = await (await client.get("/admin/calendar?day=2026-03-02")).text()
    assert patient.user.display_name in week

    await page_sign_in(client, therapist)
    agenda = await (await client.get("/agenda?view=week&day=2026-03-02")).text()
    assert patient.user.display_name in agenda and "10:00" in agenda
    assert 'src="/static/js/agenda.js"' in agenda and "<script>" not in agenda
    day = await (await client.get("/agenda?day=2026-03-03")).text()
    assert "10:00" in day


async def test_todays_agenda_lists_the_visits_just_past_midnight(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    patient, therapist = await pair(people)  # the therapist works in New York
    # 23:50 on Monday 2 March in New York (04:50 UTC on Tuesday).
    clock.set(utc(2026, 3, 3, 4, 50))
    await virtual_visit(services, patient, therapist, utc(2026, 3, 3, 5, 15))  # 00:15 Tuesday
    await virtual_visit(services, patient, therapist, utc(2026, 3, 3, 12, 0))  # 07:00 Tuesday
    await page_sign_in(client, therapist)

    # The browser asks for no language: the clinic's own, en-US, reads a 12-hour clock.
    today = await (await client.get("/agenda")).text()
    assert "<h1>Monday 02 March</h1>" in today
    assert "Tuesday 03 March" in today and "<strong>12:15" in today, today
    assert "<strong>7:00" not in today  # past the next few hours: tomorrow's page has it

    tomorrow = await (await client.get("/agenda?day=2026-03-03")).text()
    assert "<strong>12:15" in tomorrow and "<strong>7:00" in tomorrow
    # Another day than today ends at its midnight, as it always did.
    sunday = await (await client.get("/agenda?day=2026-03-01")).text()
    assert "<strong>12:15" not in sunday and "Nothing booked this day." in sunday
