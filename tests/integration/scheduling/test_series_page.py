"""The weekly series page: a preview that books nothing and says which dates are refused and why,
then booking the free dates; refusals in words with the form kept; patients turned away."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from telehealth.accounts.models import Role
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.helpers import csrf_from_page
from tests.integration.scheduling.support import count_appointments, set_hours
from tests.integration.scheduling.test_pages import page_sign_in


async def test_a_therapist_previews_a_series_then_books_its_free_dates(
    client: TestClient, services: Services, people: People
) -> None:
    therapist = await people.make(Role.THERAPIST)
    patient = await people.make(Role.PATIENT, "Pat Series")
    await people.assign(patient, therapist)
    await set_hours(services, therapist.user, days=(0, 1, 2, 3))  # no Fridays
    await page_sign_in(client, therapist)
    home = await (await client.get("/")).text()
    assert 'href="/series"' in home
    token = await csrf_from_page(client, "/series")
    form = [
        ("csrf_token", token),
        ("patient_id", str(patient.id)),
        ("type", "follow_up"),
        ("modality", "virtual"),
        ("weekdays", "1"),
        ("weekdays", "4"),
        ("time", "10:00"),
        ("first_day", "2026-03-09"),
        ("weeks", "2"),
    ]
    preview = await client.post("/series", data=[*form, ("action", "preview")])
    text = await preview.text()
    assert preview.status == 200, text[:500]
    assert "2 of 4 can be booked." in text and "Nothing is booked yet." in text
    assert "Tuesday 10 March 2026 at 10:00 AM: free" in text
    assert (
        "Friday 13 March 2026 at 10:00 AM: <strong>refused</strong> (outside the therapist&#39;s"
        " hours, or the clinic is closed)"
    ) in text
    assert 'name="weekdays" value="4" checked' in text
    assert 'name="weekdays" value="2" checked' not in text
    assert 'name="weeks" inputmode="numeric" required value="2"' in text
    assert await count_appointments(services) == 0

    booked = await client.post("/series", data=[*form, ("action", "book")])
    text = await booked.text()
    assert booked.status == 200, text[:500]
    assert "Booked: 2 visits" in text
    assert "Not booked: Friday 13 March 2026: outside the therapist" in text
    assert await count_appointments(services) == 2


async def test_series_refusals_are_in_words_and_keep_the_form(
    client: TestClient, services: Services, people: People
) -> None:
    therapist = await people.make(Role.THERAPIST)
    patient = await people.make(Role.PATIENT)
    await people.assign(patient, therapist)
    await set_hours(services, therapist.user)
    await page_sign_in(client, therapist)
    token = await csrf_from_page(client, "/series")
    base = {
        "csrf_token": token,
        "patient_id": str(patient.id),
        "type": "follow_up",
        "modality": "virtual",
        "time": "10:00",
        "first_day": "2026-03-09",
        "weeks": "2",
        "action": "preview",
    }
    no_days = await client.post("/series", data=base)
    assert no_days.status == 422
    assert "Please choose or give at least one day of the week." in await no_days.text()
    for changes, words in (
        ({"weeks": "40"}, "the number of weeks, 1 to 26"),
        ({"first_day": "soon"}, "the first day, like 2026-03-09"),
        ({"time": "25:00"}, "the time, like 10:00"),
        ({"patient_id": "nobody"}, "the patient"),
    ):
        refused = await client.post("/series", data={**base, "weekdays": "1", **changes})
        text = await refused.text()
        assert refused.status == 422, changes
        assert words in text, changes
        assert 'name="weekdays" value="1" checked' in text
    past = await client.post("/series", data={**base, "weekdays": "1", "first_day": "2026-02-02"})
    assert past.status == 422 and "The series starts in the past" in await past.text()
    nul = await client.post("/series", data={**base, "weekdays": "1", "time": "10:\x0000"})
    assert nul.status in (400, 422) and "text/html" in nul.headers["Content-Type"]
    # A patient not on her care team: not found, and nothing booked.
    stranger = await people.make(Role.PATIENT)
    other = await client.post(
        "/series", data={**base, "weekdays": "1", "patient_id": str(stranger.id), "action": "book"}
    )
    assert other.status == 404
    assert await count_appointments(services) == 0


async def test_patients_are_turned_away_from_the_series_page(
    client: TestClient, services: Services, people: People
) -> None:
    patient = await people.make(Role.PATIENT)
    await page_sign_in(client, patient)
    assert (await client.get("/series")).status == 403
    token = await csrf_from_page(client, "/me/details")
    answer = await client.post(
        "/series", data={"csrf_token": token, "patient_id": str(patient.id), "action": "book"}
    )
    assert answer.status == 403
    assert await count_appointments(services) == 0
