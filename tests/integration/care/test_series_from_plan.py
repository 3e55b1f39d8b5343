"""The therapist books the plan's visits as a weekly series from the episode: days at most the
plan's frequency, within its certified period; what cannot be booked (a clinic closure) is
listed with the reason and the rest is booked. Both engines."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from telehealth.scheduling.models import Appointment
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.care.test_plan_of_care_pages import open_episode, plan_form, post_plan
from tests.integration.helpers import csrf_from_page
from tests.integration.scheduling.support import make_clinic


def series_form(**changes: object) -> dict[str, object]:
    """Mondays and Thursdays at 10:00 New York time for 5 weeks from Tuesday 3 March 2026."""
    form: dict[str, object] = {
        "weekdays": ["0", "3"],
        "time": "10:00",
        "first_day": "2026-03-03",
        "weeks": "5",
        "type": "follow_up",
        "modality": "virtual",
    }
    form.update(changes)
    return form


async def test_the_plans_visits_are_booked_as_a_series(
    client: TestClient, services: Services, people: People
) -> None:
    c = await make_clinic(client, services, people)
    closed = await client.post(
        "/api/v1/clinic-closures",
        json={"day": "2026-03-12", "reason": "Staff training"},
        headers=c.admin_h,
    )
    assert closed.status in (200, 201), await closed.text()
    episode = await open_episode(client, c.therapist, c.patient)
    assert (await post_plan(client, episode, plan_form())).status == 303
    page = await (await client.get(f"/episodes/{episode}")).text()
    assert f'href="/episodes/{episode}/book"' in page
    form_page = await (await client.get(f"/episodes/{episode}/book")).text()
    # Twice a week: Monday and Thursday are suggested.
    assert re.search(r'value="0"\s+checked', form_page) and re.search(
        r'value="3"\s+checked', form_page
    )
    token = await csrf_from_page(client, f"/episodes/{episode}/book")

    too_often = await client.post(
        f"/episodes/{episode}/book",
        data={**series_form(weekdays=["0", "2", "4"]), "csrf_token": token},
    )
    assert too_often.status == 422
    text = await too_often.text()
    assert "choose at most 2 days" in text and 'value="2026-03-03"' in text
    too_long = await client.post(
        f"/episodes/{episode}/book", data={**series_form(weeks="7"), "csrf_token": token}
    )
    assert too_long.status == 422 and "runs past the certified period" in await too_long.text()
    bad = await client.post(
        f"/episodes/{episode}/book",
        data={**series_form(time="25:99", first_day="soon"), "csrf_token": token},
    )
    assert bad.status == 422 and "Give the first day." in await bad.text()

    booked = await client.post(
        f"/episodes/{episode}/book", data={**series_form(), "csrf_token": token}
    )
    assert booked.status == 200, await booked.text()
    result = await booked.text()
    # 3 Mar to 6 Apr: five Thursdays and five Mondays from 5 Mar; Thursday 12 Mar is closed.
    assert "9 visits booked" in result
    assert "Thu 12 Mar 2026: outside your working hours (or the clinic is closed)" in result
    async with services.sessions() as session:
        count = await session.scalar(
            select(func.count()).where(Appointment.patient_id == c.patient.id)
        )
        assert count == 9


async def test_only_the_patients_therapists_book_the_series(
    client: TestClient, services: Services, people: People
) -> None:
    c = await make_clinic(client, services, people)
    episode = await open_episode(client, c.therapist, c.patient)
    assert (await post_plan(client, episode, plan_form())).status == 303
    from tests.integration.scheduling.test_pages import page_sign_in

    await page_sign_in(client, c.patient)
    assert (await client.get(f"/episodes/{episode}/book", allow_redirects=False)).status in (
        303,
        404,
    )
    token = await csrf_from_page(client, "/my/plan")
    refused = await client.post(
        f"/episodes/{episode}/book",
        data={**series_form(), "csrf_token": token},
        allow_redirects=False,
    )
    assert refused.status == 303 and refused.headers["Location"] == f"/episodes/{episode}"
    async with services.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Appointment)) == 0
