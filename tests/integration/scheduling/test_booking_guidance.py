"""The booking pages guide a patient: the types she may book in a sensible order, a week of times
by day and part of day with "Next available" first, and the cancellation policy before she commits."""

from __future__ import annotations

import html
import re
from datetime import datetime
from urllib.parse import quote

from aiohttp.test_utils import TestClient

from telehealth.accounts.models import Role
from telehealth.clock import ManualClock
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.helpers import assert_error_shape, csrf_from_page
from tests.integration.scheduling.support import (
    book,
    count_appointments,
    make_clinic,
    set_hours,
    sign_in,
    utc,
)
from tests.integration.scheduling.test_pages import page_sign_in

# The clock starts on Monday 2 March 2026 at 09:00 in New York (tests/conftest.T0); the therapist
# works Mon-Fri 09:00-12:00 and 13:00-17:00 there, and the patients live there too.
PATIENT_TYPES = ["initial_evaluation", "follow_up", "free_screening"]
POLICY = (
    "You can move or cancel online until 24 hours before the visit. Later than that,"
    " please call the clinic: a cancellation then counts as a late cancellation."
)
WARNING = (
    "This visit starts in less than 24 hours. Once booked, it cannot be moved or cancelled online"
)


def _text(page: str) -> str:
    """The page's words without tags, spaces collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _confirm(therapist_id: object, start: datetime, type_key: str = "follow_up") -> str:
    query = f"type={type_key}&modality=virtual&therapist_id={therapist_id}"
    return f"/book/confirm?{query}&start={quote(start.isoformat())}"


async def test_patients_see_only_the_types_they_may_book_in_display_order(
    client: TestClient, services: Services, people: People
) -> None:
    c = await make_clinic(client, services, people)
    api = await client.get("/api/v1/appointment-types", headers=c.patient_h)
    assert [t["key"] for t in (await api.json())["items"]] == PATIENT_TYPES
    staff = await client.get("/api/v1/appointment-types", headers=c.admin_h)
    items = (await staff.json())["items"]
    assert [(t["key"], t["patient_bookable"], t["display_order"]) for t in items] == [
        ("initial_evaluation", True, 10),
        ("follow_up", True, 20),
        ("free_screening", True, 30),
        ("re_evaluation", False, 40),
        ("discharge", False, 50),
    ]

    await page_sign_in(client, c.patient)
    page = await (await client.get("/book")).text()
    offered = re.findall(r'name="type" value="(\w+)"', page)
    assert offered == PATIENT_TYPES
    assert "Re-evaluation" not in page and "Discharge visit" not in page

    # An admin makes a type patient-bookable again, and moves it to the top.
    discharge = next(t for t in items if t["key"] == "discharge")
    changed = await client.patch(
        f"/api/v1/appointment-types/{discharge['id']}",
        json={"patient_bookable": True, "display_order": 1},
        headers=c.admin_h,
    )
    assert changed.status == 200, await changed.text()
    page = await (await client.get("/book")).text()
    assert re.findall(r'name="type" value="(\w+)"', page) == ["discharge", *PATIENT_TYPES]


async def test_a_patient_cannot_book_a_clinician_only_type_by_crafting_the_link_or_the_form(
    client: TestClient, services: Services, people: People
) -> None:
    c = await make_clinic(client, services, people)
    start = utc(2026, 3, 4, 14)  # Wednesday 09:00 in New York: free, and far enough ahead
    refusal = (
        "A discharge visit is arranged by your therapist, so it cannot be booked online."
        " Please ask your therapist or call the clinic."
    )
    await page_sign_in(client, c.patient)
    crafted = await client.get("/book?type=discharge&modality=virtual")
    assert crafted.status == 403
    text = _text(await crafted.text())
    assert refusal in text and "Choose a time" not in text
    confirm = await client.get(_confirm(c.therapist.id, start, "discharge"))
    assert confirm.status == 403 and refusal in _text(await confirm.text())
    token = await csrf_from_page(client, "/book")
    form = {
        "csrf_token": token,
        "request_key": "crafted-1",
        "type": "discharge",
        "modality": "virtual",
        "therapist_id": str(c.therapist.id),
        "start": start.isoformat(),
    }
    posted = await client.post("/book", data=form, allow_redirects=False)
    assert posted.status == 403 and refusal in _text(await posted.text())
    api = await book(client, c.patient_h, start, "re_evaluation", therapist_id=c.therapist.id)
    error = await assert_error_shape(api, 403, "permission_denied")
    assert error["message"].startswith("A re-evaluation is arranged by your therapist")
    assert await count_appointments(services) == 0

    # Staff still book it for her through the admin calendar.
    await page_sign_in(client, c.admin)
    calendar = await (await client.get("/admin/calendar?day=2026-03-02")).text()
    assert 'value="discharge"' in calendar
    fields = dict(re.findall(r'name="(csrf_token|request_key)" value="([^"]+)"', calendar))
    booked = await client.post(
        "/admin/calendar/book",
        data={
            **fields,
            "patient_id": str(c.patient.id),
            "therapist_id": str(c.therapist.id),
            "type": "discharge",
            "modality": "virtual",
            "day": "2026-03-04",
            "time": "09:00",
        },
        allow_redirects=False,
    )
    assert booked.status == 303, await booked.text()
    assert await count_appointments(services) == 1


async def test_the_week_is_grouped_by_day_and_part_of_day_with_next_available_first(
    client: TestClient, services: Services, people: People
) -> None:
    c = await make_clinic(client, services, people)
    await page_sign_in(client, c.patient)
    query = f"type=follow_up&modality=virtual&therapist_id={c.therapist.id}"
    page = await (await client.get(f"/book?{query}")).text()
    text = _text(page)
    # 12 hours' notice: nothing is left today, so the first time is tomorrow at 9:00 AM.
    assert "Next available Tomorrow, Tuesday 3 March at 9:00 AM" in text
    assert text.index("Next available") < text.index("Tomorrow Tuesday 3 March Morning")
    first = re.search(r'class="button button-primary slot next-slot" href="([^"]+)"', page)
    assert first is not None
    assert quote(utc(2026, 3, 3, 14).isoformat()) in html.unescape(first.group(1))
    headings = re.findall(r'<h3 class="day-title"[^>]*>(.*?)</h3>', page)
    assert [_text(h).strip() for h in headings] == [
        "Tomorrow Tuesday 3 March",
        "Wednesday 4 March",
        "Thursday 5 March",
        "Friday 6 March",
    ]
    # Each day: three morning and three afternoon times shown (9:00-11:00 has 9 starts, 13:00-16:00
    # has 13), the other 16 behind "More times"; no evening, since the therapist has no hours then.
    assert "Tomorrow Tuesday 3 March Morning 9:00 AM 9:15 AM 9:30 AM Afternoon 1:00 PM" in text
    assert text.count("16 more times") == 4
    assert "Evening" not in text and "13:00" not in text
    assert len(re.findall(r'class="button slot', page)) == 4 * 22
    # The policy of the chosen type stands beside the times.
    assert "Book at least 12 hours ahead. " + POLICY in text

    # With two therapists and "Anyone available", each time is one button, not one per therapist.
    other = await people.make(Role.THERAPIST)
    await set_hours(services, other.user)
    anyone = await (await client.get("/book?type=follow_up&modality=virtual")).text()
    assert len(re.findall(r'class="button slot', anyone)) == 4 * 22

    # The free screening (2 hours' notice) still fits today.
    screening = _text(await (await client.get("/book?type=free_screening&modality=virtual")).text())
    assert "Today Monday 2 March Morning 11:00 AM 11:15 AM 11:30 AM Afternoon" in screening
    assert re.search(
        r"Next available Today, Monday 2 March at 11:00 AM with Therapist \d+", screening
    )


async def test_the_policy_is_shown_on_the_type_choice_and_the_confirm_page(
    client: TestClient, services: Services, people: People
) -> None:
    c = await make_clinic(client, services, people)
    await page_sign_in(client, c.patient)
    choice = _text(await (await client.get("/book")).text())
    assert "Book at least 12 hours ahead. " + POLICY in choice  # the follow-up
    assert (
        "Book at least 2 hours ahead. You can move or cancel online until 2 hours before the visit."
        in choice  # the free screening
    )
    confirm = await client.get(_confirm(c.therapist.id, utc(2026, 3, 4, 14)))
    text = _text(await confirm.text())
    assert confirm.status == 200
    assert "Changing or cancelling " + POLICY in text
    assert "When Wednesday 4 March 2026 9:00 AM \N{EN DASH} 9:45 AM" in text
    assert WARNING not in text


async def test_the_late_window_warning_appears_only_inside_the_window(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    c = await make_clinic(client, services, people)
    # Monday 16:00 in New York: 12 hours' notice lets Tuesday morning be booked, yet Tuesday 9:00
    # is only 17 hours away, inside the follow-up's 24-hour late-cancellation window.
    clock.set(utc(2026, 3, 2, 21))
    await page_sign_in(client, c.patient)
    inside = await client.get(_confirm(c.therapist.id, utc(2026, 3, 3, 14)))
    text = _text(await inside.text())
    assert inside.status == 200 and "Please note: " + WARNING in text
    assert "When Tomorrow, Tuesday 3 March 2026 9:00 AM \N{EN DASH} 9:45 AM" in text
    # Exactly 24 hours ahead is not late (the cancellation rule is "less than"); nor is Wednesday.
    for start in (utc(2026, 3, 3, 21), utc(2026, 3, 4, 14)):
        outside = _text(await (await client.get(_confirm(c.therapist.id, start))).text())
        assert WARNING not in outside and POLICY in outside, start
    # Warned, she may still book it: the warning informs, it does not refuse.
    headers = await sign_in(client, c.patient)
    booked = await book(client, headers, utc(2026, 3, 3, 14), therapist_id=c.therapist.id)
    assert booked.status == 201, await booked.text()


async def test_the_move_page_uses_the_same_guided_picker(
    client: TestClient, services: Services, people: People
) -> None:
    c = await make_clinic(client, services, people)
    made = await book(client, c.patient_h, utc(2026, 3, 5, 15), therapist_id=c.therapist.id)
    appointment_id = (await made.json())["id"]
    await page_sign_in(client, c.patient)
    page = await client.get(f"/appointments/{appointment_id}/reschedule")
    text = _text(await page.text())
    assert page.status == 200
    assert "Next available Tomorrow, Tuesday 3 March at 9:00 AM" in text
    assert "Tomorrow Tuesday 3 March Morning 9:00 AM" in text and "more times" in text
    # One therapist, her own: no name under each time.
    assert c.therapist.user.display_name not in text.split("Choose a new time")[1].split("Keep")[0]
