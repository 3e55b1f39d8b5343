"""The weekly hours form without JavaScript: copying Monday to the weekdays draws the form again,
unsaved; a refused form keeps every typed value and marks the field it is about."""

from __future__ import annotations

import re
from datetime import time

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from telehealth.accounts.models import Role
from telehealth.scheduling.models import WeeklyHours
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.helpers import csrf_from_page
from tests.integration.scheduling.test_pages import page_sign_in

_VALUE = re.compile(r'<input id="(d\d_\d_(?:start|end))"[^>]* value="([^"]*)"')
_INVALID = re.compile(r'<(?:input|select) id="([^"]+)"[^>]* aria-invalid="true"')


async def stored_hours(services: Services) -> list[tuple[int, time, time]]:
    async with services.sessions.reading() as session:
        rows = await session.scalars(select(WeeklyHours).order_by(WeeklyHours.weekday))
        return [(r.weekday, r.start_local, r.end_local) for r in rows]


def values(page: str) -> dict[str, str]:
    return dict(_VALUE.findall(page))


async def test_copy_monday_fills_the_weekdays_unsaved_then_saves(
    client: TestClient, services: Services, people: People
) -> None:
    therapist = await people.make(Role.THERAPIST)
    await page_sign_in(client, therapist)
    page = await (await client.get("/availability")).text()
    assert 'src="/static/js/hours-copy.js"' in page and "<script>" not in page
    token = await csrf_from_page(client, "/availability")
    form = {
        "csrf_token": token,
        "therapist_id": str(therapist.id),
        "time_zone": "Europe/London",
        "d0_0_start": "08:00",
        "d0_0_end": "12:00",
        "d0_1_start": "13:00",
        "d0_1_end": "16:30",
        "d5_0_start": "10:00",
        "d5_0_end": "11:00",
    }
    copied = await client.post("/availability", data={**form, "action": "copy_monday"})
    text = await copied.text()
    assert copied.status == 200
    assert "They are not saved yet: check them, then press Save hours." in text
    shown = values(text)
    for weekday in range(5):
        assert (shown[f"d{weekday}_0_start"], shown[f"d{weekday}_0_end"]) == ("08:00", "12:00")
        assert (shown[f"d{weekday}_1_start"], shown[f"d{weekday}_1_end"]) == ("13:00", "16:30")
    assert (shown["d5_0_start"], shown["d6_0_start"]) == ("10:00", "")
    assert '<option value="Europe/London" selected>' in text
    assert await stored_hours(services) == []

    saved = await client.post("/availability", data={"csrf_token": token, **shown, **{
        "therapist_id": str(therapist.id), "time_zone": "Europe/London"}})  # fmt: skip
    assert saved.status == 200 and "Your hours are saved." in await saved.text()
    stored = await stored_hours(services)
    assert len(stored) == 11
    assert (3, time(13), time(16, 30)) in stored and (5, time(10), time(11)) in stored


async def test_a_refused_week_keeps_every_typed_value_and_marks_its_field(
    client: TestClient, services: Services, people: People
) -> None:
    therapist = await people.make(Role.THERAPIST)
    await page_sign_in(client, therapist)
    token = await csrf_from_page(client, "/availability")
    typed = {
        "d0_0_start": "09:00",
        "d0_0_end": "12:00",
        "d1_0_start": "09:00",
        "d1_0_end": "17:00",
        "d2_1_start": "14:00",  # no end
        "d4_0_start": "10:00",
        "d4_0_end": "11:00",
    }
    base = {"csrf_token": token, "therapist_id": str(therapist.id), "time_zone": "America/Chicago"}
    cases = [
        ({}, "d2_1_end", "Wednesday: give an end time too, or leave both empty."),
        ({"d2_1_end": "13:00"}, "d2_1_end", "Wednesday: the end, 13:00, must be after the start"),
        ({"d2_1_end": "15:00", "d4_0_end": "soon"}, "d4_0_end", "Friday: &#39;soon&#39; is not"),
        (
            {"d2_1_end": "15:00", "d1_1_start": "16:00", "d1_1_end": "18:00"},
            "d1_1_start",
            "Tuesday: the two blocks overlap.",
        ),
        ({"d2_1_end": "15:00", "time_zone": "Mars/Olympus"}, "time_zone", "Mars/Olympus"),
    ]
    for extra, field, words in cases:
        sent = {**typed, **extra}
        refused = await client.post("/availability", data={**base, **sent})
        text = await refused.text()
        assert refused.status == 422, extra
        assert words in text, (extra, text[:2000])
        assert _INVALID.findall(text) == [field], extra
        assert f'<a href="#{field}">' in text
        shown = values(text)
        for name, value in sent.items():
            if name != "time_zone":
                assert shown[name] == value, (name, extra)
        assert sum(1 for v in shown.values() if v) == sum(
            1 for k, v in sent.items() if k != "time_zone" and v
        )
    assert await stored_hours(services) == []


async def test_malformed_hours_forms_are_refused_plainly(
    client: TestClient, services: Services, people: People
) -> None:
    therapist = await people.make(Role.THERAPIST)
    other = await people.make(Role.THERAPIST)
    await page_sign_in(client, therapist)
    token = await csrf_from_page(client, "/availability")
    base = {"csrf_token": token, "time_zone": "America/New_York"}
    nul = await client.post("/availability", data={**base, "d0_0_start": "09:\x0000"})
    assert nul.status in (400, 422) and "text/html" in nul.headers["Content-Type"]
    long = await client.post("/availability", data={**base, "d0_0_start": "9" * 5000})
    assert long.status == 422 and ("9" * 16) in await long.text()
    broken = await client.post(
        "/availability",
        data=b"--x\r\nbroken",
        headers={"Content-Type": "multipart/form-data; boundary=x", "X-CSRF-Token": token},
    )
    assert broken.status == 400
    # Another therapist's hours: not found, and the copy shows nothing of them either.
    for action in ("copy_monday", ""):
        foreign = await client.post(
            "/availability", data={**base, "therapist_id": str(other.id), "action": action}
        )
        assert foreign.status == 404, action
    assert await stored_hours(services) == []
