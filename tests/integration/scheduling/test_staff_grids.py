"""The staff calendar grids: what is free, booked, blocked and closed, and who may see them."""

from __future__ import annotations

import re
from datetime import date, time

import pytest
from aiohttp.test_utils import TestClient

from telehealth.accounts.models import Role
from telehealth.accounts.service import actor_of
from telehealth.actors import Caller
from telehealth.scheduling.availability import service as availability_service
from telehealth.scheduling.availability.rules import DateException, ExceptionKind
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.scheduling.support import Clinic, book, make_clinic, utc
from tests.integration.scheduling.test_pages import page_sign_in

# The week of T0 (Monday 2 March 2026); New York is UTC-5 until 8 March.
TUESDAY, WEDNESDAY, THURSDAY, FRIDAY = (date(2026, 3, d) for d in (3, 4, 5, 6))
_CELL = re.compile(r'<td rowspan="(\d+)" class="grid-cell grid-(\w+)">(.*?)</td>', re.S)
_BOOK = re.compile(r'data-book="([^"]+)"')


async def _setup(client: TestClient, services: Services, people: People) -> Clinic:
    """Mon-Fri 9-12 and 13-17 New York; a follow-up Tuesday 10:00; Wednesday off; Thursday
    14:00-15:00 off; the clinic closed on Friday."""
    clinic = await make_clinic(client, services, people)
    booked = await book(
        client,
        clinic.admin_h,
        utc(2026, 3, 3, 15),
        therapist_id=clinic.therapist.user.id,
        patient_id=clinic.patient.user.id,
    )
    assert booked.status == 201, await booked.text()
    caller = Caller(actor=actor_of(clinic.therapist.user), ip="test")
    tid = clinic.therapist.user.id
    await availability_service.add_exception(
        services, caller, tid, DateException(WEDNESDAY, ExceptionKind.TIME_OFF)
    )
    await availability_service.add_exception(
        services,
        caller,
        tid,
        DateException(THURSDAY, ExceptionKind.TIME_OFF, time(14), time(15)),
    )
    admin = Caller(actor=actor_of(clinic.admin.user), ip="test")
    await availability_service.add_closure(services, admin, FRIDAY, "Staff training")
    return clinic


def _bookable(page: str) -> set[str]:
    return set(_BOOK.findall(page))


async def test_week_grid_shows_free_booked_blocked_and_closed(
    client: TestClient, services: Services, people: People
) -> None:
    clinic = await _setup(client, services, people)
    await page_sign_in(client, clinic.therapist)
    response = await client.get("/calendar/week?day=2026-03-04")
    assert response.status == 200
    page = await response.text()
    cells = _CELL.findall(page)
    kinds = [kind for _, kind, _ in cells]
    # One booked cell: the follow-up 10:00-10:45, with the patient's name and the type.
    booked = [body for _, kind, body in cells if kind == "booked"]
    assert len(booked) == 1
    assert clinic.patient.user.display_name in booked[0] and "Follow-up" in booked[0]
    assert "10:00" in booked[0] and "10:45 AM" in booked[0]
    # Wednesday off all day, Thursday an hour, Friday closed.
    assert "blocked" in kinds and "closed" in kinds and "free" in kinds
    assert page.count("Clinic closed") >= 1 and "Time off" in page
    # Rows 08:00 to 17:00 (hours 9-17, whole hours, a column's cells add up to the rows).
    rows = page.count('<th scope="row"')
    assert rows == 8 * 4
    assert sum(int(span) for span, _, _ in cells) == rows * 7
    # The therapist reads the week; free time is not a booking link for her.
    assert _bookable(page) == set()
    assert ">Free<" in page


async def test_day_grid_offers_free_times_to_admins(
    client: TestClient, services: Services, people: People
) -> None:
    clinic = await _setup(client, services, people)
    other = await people.make(Role.THERAPIST, name="Avery Other")
    await page_sign_in(client, clinic.admin)
    page = await (await client.get("/calendar/day?day=2026-03-03")).text()
    name = clinic.therapist.user.display_name
    offered = _bookable(page)
    for clock in ("9:00 AM", "9:30 AM", "10:45 AM", "11:00 AM", "11:30 AM", "1:00 PM", "4:30 PM"):
        assert f"{name} on Tue 03 Mar at {clock}" in offered, (clock, offered)
    for clock in ("10:00 AM", "10:30 AM", "12:00 PM", "12:30 PM", "5:00 PM"):
        assert f"{name} on Tue 03 Mar at {clock}" not in offered, clock
    # The link opens the booking form with that therapist, date and time.
    assert (
        f'href="/admin/calendar?therapist_id={clinic.therapist.user.id}&day=2026-03-03'
        f'&time=09:00#book-title"' in page
    )
    # The therapist with no hours has a column and nothing to book.
    assert other.user.display_name in page
    assert not any(label.startswith(other.user.display_name) for label in offered)
    # Wednesday: nothing free, the day is time off; Friday: closed.
    wednesday = await (await client.get("/calendar/day?day=2026-03-04")).text()
    assert not any(label.startswith(name) for label in _bookable(wednesday))
    assert "Time off" in wednesday
    friday = await (await client.get("/calendar/day?day=2026-03-06")).text()
    assert "Clinic closed" in friday and not _bookable(friday)
    thursday = await (await client.get("/calendar/day?day=2026-03-05")).text()
    offered = _bookable(thursday)
    assert f"{name} on Thu 05 Mar at 1:30 PM" in offered
    assert f"{name} on Thu 05 Mar at 2:00 PM" not in offered
    assert f"{name} on Thu 05 Mar at 3:00 PM" in offered


async def test_grid_uses_the_viewers_zone_and_clock(
    client: TestClient, services: Services, people: People
) -> None:
    clinic = await _setup(client, services, people)
    london = await people.make(Role.ADMIN, time_zone="Europe/London")
    await page_sign_in(client, london)
    page = await (
        await client.get("/calendar/day?day=2026-03-03", headers={"Accept-Language": "en-GB"})
    ).text()
    # 9:00 New York is 14:00 London, in a 24-hour clock.
    assert f"{clinic.therapist.user.display_name} on Tue 03 Mar at 14:00" in _bookable(page)
    assert "15:00\u201315:45" in page


async def test_admin_picks_any_therapists_week(
    client: TestClient, services: Services, people: People
) -> None:
    clinic = await _setup(client, services, people)
    await page_sign_in(client, clinic.admin)
    response = await client.get(
        f"/calendar/week?day=2026-03-03&therapist_id={clinic.therapist.user.id}"
    )
    page = await response.text()
    assert response.status == 200
    assert f"{clinic.therapist.user.display_name} on Mon 02 Mar at 9:00 AM" in _bookable(page)
    assert clinic.patient.user.display_name in page


async def test_who_may_see_the_grids(
    client: TestClient, services: Services, people: People
) -> None:
    clinic = await _setup(client, services, people)
    colleague = await people.make(Role.THERAPIST)
    # A therapist sees her own week only: another therapist's is 404, as any other person's object.
    await page_sign_in(client, colleague)
    other = await client.get(f"/calendar/week?therapist_id={clinic.therapist.user.id}")
    assert other.status == 404
    own = await (await client.get("/calendar/week")).text()
    assert clinic.patient.user.display_name not in own
    assert (await client.get("/calendar/day")).status == 403
    await page_sign_in(client, clinic.patient)
    assert (await client.get("/calendar/week")).status == 403
    assert (await client.get("/calendar/day")).status == 403
    client.session.cookie_jar.clear()
    anonymous = await client.get("/calendar/week", allow_redirects=False)
    assert anonymous.status in (302, 303, 401)


@pytest.mark.parametrize(
    "query",
    [
        "day=2026-13-01",
        "day=yesterday",
        "day=2026-03-03%00",
        "day=%00",
        "day=20260303",
        "day=1999-01-01",
        "therapist_id=not-a-uuid",
        "therapist_id=%00",
    ],
)
async def test_bad_query_is_a_clear_400(
    client: TestClient, services: Services, people: People, query: str
) -> None:
    admin = await people.make(Role.ADMIN)
    await page_sign_in(client, admin)
    for path in ("/calendar/week", "/calendar/day"):
        response = await client.get(f"{path}?{query}")
        if path == "/calendar/day" and query.startswith("therapist_id"):
            assert response.status == 200  # the day grid takes no therapist
            continue
        assert response.status == 400, (path, query)
        text = await response.text()
        assert "could not be read" in text or "within a year" in text


async def test_an_unknown_therapist_is_404(
    client: TestClient, services: Services, people: People
) -> None:
    admin = await people.make(Role.ADMIN)
    await page_sign_in(client, admin)
    response = await client.get("/calendar/week?therapist_id=6b1f4f52-4bb3-4c85-9f4e-0e1f5ad0d7a3")
    assert response.status == 404


_SELECTED = re.compile(r'<option value="([^"]+)" selected>')
_VALUE = re.compile(r'<input id="(day|time|reason)" name="\1" type="\w+"[^>]*? value="([^"]*)"')


async def test_a_picked_free_time_fills_the_booking_form_and_a_refusal_keeps_it(
    client: TestClient, services: Services, people: People
) -> None:
    clinic = await _setup(client, services, people)
    await page_sign_in(client, clinic.admin)
    tid = str(clinic.therapist.user.id)
    form = await (
        await client.get(f"/admin/calendar?therapist_id={tid}&day=2026-03-03&time=16:30")
    ).text()
    assert tid in _SELECTED.findall(form)
    assert 'name="day" type="date" value="2026-03-03"' in form
    assert 'name="time" type="time" step="900" value="16:30"' in form
    # An initial evaluation (an hour) at 16:30 runs past the end of the day: refused in words,
    # and every value stays in the form.
    fields = dict(re.findall(r'name="(csrf_token|request_key)" value="([^"]+)"', form))
    typed = {
        "patient_id": str(clinic.other_patient.user.id),
        "therapist_id": tid,
        "type": "initial_evaluation",
        "modality": "in_clinic",
        "day": "2026-03-03",
        "time": "16:30",
        "reason": "Knee pain after a fall",
    }
    refused = await client.post("/admin/calendar/book", data={**fields, **typed})
    assert refused.status == 409 or refused.status == 422
    page = await refused.text()
    assert re.search(r'role="alert">[A-Z][^<]*\. Please choose another time\.<', page), page
    selected = _SELECTED.findall(page)
    for name in ("patient_id", "therapist_id", "type"):
        assert typed[name] in selected, name
    assert 'value="in_clinic" selected' in page
    assert 'type="date" value="2026-03-03"' in page
    assert 'type="time" step="900" value="16:30"' in page
    assert 'value="Knee pain after a fall"' in page
    # A follow-up at 16:00 fits: booked, and on the grid.
    fields = dict(re.findall(r'name="(csrf_token|request_key)" value="([^"]+)"', page))
    booked = await client.post(
        "/admin/calendar/book",
        data={**fields, **typed, "type": "follow_up", "time": "16:00"},
        allow_redirects=False,
    )
    assert booked.status == 303
    grid = await (await client.get("/calendar/day?day=2026-03-03")).text()
    assert clinic.other_patient.user.display_name in grid


async def test_a_crafted_prefill_is_not_echoed(
    client: TestClient, services: Services, people: People
) -> None:
    admin = await people.make(Role.ADMIN)
    await page_sign_in(client, admin)
    response = await client.get("/admin/calendar?time=%00&day=%22%3E%3Cb%3E")
    assert response.status == 200
    page = await response.text()
    assert "\x00" not in page and '"><b>' not in page
