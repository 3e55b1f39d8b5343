"""Moving and cancelling a visit from its page: the booking picker, a confirmation, plain refusals."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import icalendar
from aiohttp.test_utils import TestClient

from telehealth.clock import ManualClock
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.scheduling.support import Clinic, book, make_clinic, utc
from tests.integration.scheduling.test_pages import page_sign_in

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')

VISIT = utc(2026, 3, 5, 15)  # Thursday 10:00 in New York; the clock is Monday 2 March 09:00
NEW = utc(2026, 3, 4, 18)  # Wednesday 13:00 in New York


def _slot_links(page: str, appointment_id: str) -> dict[datetime, str]:
    """The picker's slot links of a reschedule page, by the instant they offer."""
    links = {}
    for href in re.findall(r'href="([^"]+)"', page):
        href = html.unescape(href)
        if href.startswith(f"/appointments/{appointment_id}/reschedule?") and "start=" in href:
            (start,) = parse_qs(urlsplit(href).query)["start"]
            links[datetime.fromisoformat(start)] = href
    return links


async def _booked(client: TestClient, services: Services, people: People) -> tuple[Clinic, str]:
    c = await make_clinic(client, services, people)
    made = await book(client, c.patient_h, VISIT, therapist_id=c.therapist.user.id)
    assert made.status == 201, await made.text()
    return c, (await made.json())["id"]


async def test_patient_moves_a_visit_by_picking_a_slot_and_confirming(
    client: TestClient, services: Services, people: People
) -> None:
    c, appointment_id = await _booked(client, services, people)
    await page_sign_in(client, c.patient)
    detail = await (await client.get(f"/appointments/{appointment_id}")).text()
    assert f'href="/appointments/{appointment_id}/reschedule"' in detail
    picker = await client.get(f"/appointments/{appointment_id}/reschedule")
    text = await picker.text()
    assert picker.status == 200, text
    assert "Thu 5 Mar at 10:00 AM" in text and 'class="slot-list"' in text
    links = _slot_links(text, appointment_id)
    # The booking picker: free times of the same therapist, grouped by day, not the visit's own.
    assert NEW in links and VISIT not in links
    assert "Wednesday 4 March" in text
    confirm = await client.get(links[NEW])
    page = await confirm.text()
    assert confirm.status == 200, page
    assert "Thu 5 Mar at 10:00 AM" in page and "Wed 4 Mar at 1:00 PM" in page
    assert "Move my visit" in page
    fields = dict(_HIDDEN.findall(page))
    moved = await client.post(
        f"/appointments/{appointment_id}/reschedule", data=fields, allow_redirects=False
    )
    assert moved.status == 303, await moved.text()
    assert moved.headers["Location"] == (
        f"/appointments/{appointment_id}?moved=1&from={int(VISIT.timestamp())}"
    )
    after = await (await client.get(moved.headers["Location"])).text()
    assert "Your visit has moved from Thu 5 Mar at 10:00 AM to Wed 4 Mar at 1:00 PM." in after
    # A link whose "from" is not a time still confirms the move, in the shorter words.
    odd = await (await client.get(f"/appointments/{appointment_id}?moved=1&from=x%00")).text()
    assert "Your visit is now on Wed 4 Mar at 1:00 PM." in odd
    answer = await client.get(f"/api/v1/appointments/{appointment_id}", headers=c.patient_h)
    assert datetime.fromisoformat((await answer.json())["start"]) == NEW


async def test_refusals_are_plain_sentences_with_a_next_step_and_keep_the_form(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    c, appointment_id = await _booked(client, services, people)
    await page_sign_in(client, c.patient)
    page = await (
        await client.get(
            f"/appointments/{appointment_id}/reschedule", params={"start": NEW.isoformat()}
        )
    ).text()
    fields = dict(_HIDDEN.findall(page))
    # Someone else takes the chosen time meanwhile.
    taken = await book(client, c.other_h, NEW, therapist_id=c.therapist.user.id)
    assert taken.status == 201
    refused = await client.post(f"/appointments/{appointment_id}/reschedule", data=fields)
    text = await refused.text()
    assert refused.status == 409
    assert "That time was taken in the meantime. Please choose another time." in text
    assert f'value="{NEW.isoformat()}"' in text and "Move my visit" in text
    # Inside the late-change window a patient is sent to the phone.
    clock.set(VISIT - timedelta(hours=2))
    picker = await client.get(f"/appointments/{appointment_id}/reschedule")
    text = await picker.text()
    assert picker.status == 409 and 'class="slot-list"' not in text
    assert "It is too late to move this visit online. Please call the clinic to change it." in text
    later = utc(2026, 3, 5, 19)
    fields["start"] = later.isoformat()
    late = await client.post(f"/appointments/{appointment_id}/reschedule", data=fields)
    text = await late.text()
    assert late.status == 409
    assert "It is too late to move this visit online. Please call the clinic to change it." in text
    assert f'value="{later.isoformat()}"' in text


async def test_bad_slot_values_answer_4xx_pages(
    client: TestClient, services: Services, people: People
) -> None:
    c, appointment_id = await _booked(client, services, people)
    await page_sign_in(client, c.patient)
    detail = await (await client.get(f"/appointments/{appointment_id}")).text()
    (token,) = _CSRF.findall(detail)[:1]
    base = f"/appointments/{appointment_id}/reschedule"
    for value in ("tomorrow", "2026-03-04T18:00", "2026-03-04T18:00\x00+00:00", "\x00"):
        got = await client.get(base, params={"start": value})
        assert 400 <= got.status < 500, (value, got.status)
        posted = await client.post(base, data={"csrf_token": token, "start": value})
        assert 400 <= posted.status < 500, (value, posted.status)
    odd_version = await client.post(
        base, data={"csrf_token": token, "start": NEW.isoformat(), "version": "x"}
    )
    assert odd_version.status == 422
    assert "Please reload it and try again." in await odd_version.text()


async def test_cancel_confirms_warns_when_late_and_withdraws_the_calendar_file(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    c, appointment_id = await _booked(client, services, people)
    before = icalendar.Calendar.from_ical(
        await (
            await client.get(
                f"/api/v1/appointments/{appointment_id}/calendar.ics", headers=c.patient_h
            )
        ).read()
    )
    (booked_event,) = before.walk("VEVENT")
    await page_sign_in(client, c.patient)
    detail = await (await client.get(f"/appointments/{appointment_id}")).text()
    assert "Add to my calendar" in detail
    assert f'href="/appointments/{appointment_id}/cancel"' in detail
    confirm = await (await client.get(f"/appointments/{appointment_id}/cancel")).text()
    assert "Thu 5 Mar at 10:00 AM" in confirm and "Cancel my visit" in confirm
    assert "late cancellation" not in confirm
    clock.set(VISIT - timedelta(hours=3))
    confirm = await (await client.get(f"/appointments/{appointment_id}/cancel")).text()
    assert (
        "This is less than 24 hours before the visit, so it will be recorded as a late"
        " cancellation." in confirm
    )
    fields = dict(_HIDDEN.findall(confirm))
    done = await client.post(
        f"/appointments/{appointment_id}/action",
        data={**fields, "reason": "feeling unwell"},
        allow_redirects=False,
    )
    assert done.status == 303
    assert done.headers["Location"] == f"/appointments/{appointment_id}?cancelled=1"
    after = await (await client.get(done.headers["Location"])).text()
    assert "Your visit on Thu 5 Mar at 10:00 AM is cancelled." in after
    assert "Add to my calendar" not in after and "Remove from my calendar" in after
    assert "(late)" in after
    response = await client.get(f"/api/v1/appointments/{appointment_id}/calendar.ics")
    assert response.status == 200 and response.content_type == "text/calendar"
    cal = icalendar.Calendar.from_ical(await response.read())
    assert str(cal["method"]) == "CANCEL"
    (event,) = cal.walk("VEVENT")
    assert str(event["uid"]) == str(booked_event["uid"])
    assert str(event["status"]) == "CANCELLED"
    assert event.decoded("sequence") > booked_event.decoded("sequence")
    assert str(before["method"]) == "PUBLISH"


async def test_staff_move_with_the_picker_and_refusals_are_capitalised(
    client: TestClient, services: Services, people: People
) -> None:
    c, appointment_id = await _booked(client, services, people)
    await page_sign_in(client, c.therapist)
    picker = await (await client.get(f"/appointments/{appointment_id}/reschedule")).text()
    links = _slot_links(picker, appointment_id)
    assert NEW in links
    page = await (await client.get(links[NEW])).text()
    moved = await client.post(
        f"/appointments/{appointment_id}/reschedule",
        data=dict(_HIDDEN.findall(page)),
        allow_redirects=False,
    )
    assert moved.status == 303
    # Staff must give a reason; the refusal is a sentence and the cancel form is shown again.
    confirm = await (await client.get(f"/appointments/{appointment_id}/cancel")).text()
    refused = await client.post(
        f"/appointments/{appointment_id}/action", data={**dict(_HIDDEN.findall(confirm))}
    )
    text = await refused.text()
    assert refused.status == 422
    assert "Staff must give a reason when cancelling a patient&#39;s appointment." in text
    assert "Cancel my visit" in text
    # A cancelled visit cannot be moved, and the picker says so in plain words.
    await client.post(
        f"/appointments/{appointment_id}/action",
        data={**dict(_HIDDEN.findall(confirm)), "reason": "clinic closed"},
    )
    gone = await client.get(f"/appointments/{appointment_id}/reschedule")
    assert gone.status == 409
    assert "This visit is cancelled, so it can no longer be moved." in await gone.text()
