"""A patient is offered no time that overlaps a visit of their own, and a visit being moved does
not stand in its own way."""

from __future__ import annotations

import html
import re
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from aiohttp.test_utils import TestClient

from telehealth.accounts.models import Role
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.scheduling.support import (
    book,
    iso,
    make_clinic,
    parse,
    set_hours,
    sign_in,
    utc,
)
from tests.integration.scheduling.test_pages import page_sign_in

# Tuesday 3 March 2026, 10:00-10:45 in New York (15:00-15:45 UTC); follow-ups are 45 minutes with
# 15 minutes of the therapist's documentation after.
VISIT = utc(2026, 3, 3, 15)


async def _slots(
    client: TestClient, headers: dict[str, str], therapist_id: str | None = None
) -> set[datetime]:
    params = {
        "type": "follow_up",
        "modality": "virtual",
        "start": iso(utc(2026, 3, 3, 13)),
        "end": iso(utc(2026, 3, 3, 18)),
        "limit": "100",
    }
    if therapist_id is not None:
        params["therapist_id"] = therapist_id
    response = await client.get("/api/v1/slots", params=params, headers=headers)
    assert response.status == 200, await response.text()
    return {parse(s["start"]) for s in (await response.json())["slots"]}


async def test_a_patient_is_not_offered_times_overlapping_their_own_visit(
    client: TestClient, services: Services, people: People
) -> None:
    c = await make_clinic(client, services, people)
    second = await people.make(Role.THERAPIST)
    await set_hours(services, second.user)
    made = await book(client, c.patient_h, VISIT, therapist_id=c.therapist.id)
    assert made.status == 201, await made.text()

    own = await _slots(client, c.patient_h, str(second.id))
    # 14:15 ends as the visit starts, 15:45 starts as it ends: both can be booked.
    assert {utc(2026, 3, 3, 14, 15), utc(2026, 3, 3, 15, 45)} <= own
    for overlapping in (14, 30), (15, 0), (15, 30):
        assert utc(2026, 3, 3, *overlapping) not in own, overlapping
    # Across every therapist as well.
    assert not {utc(2026, 3, 3, 14, 30), utc(2026, 3, 3, 15)} & await _slots(client, c.patient_h)
    # Another patient is offered those times with the second therapist: they are free.
    assert utc(2026, 3, 3, 15) in await _slots(client, c.other_h, str(second.id))

    # Each time offered can be booked: the search refuses what booking refuses, no more.
    booked = await book(client, c.patient_h, utc(2026, 3, 3, 15, 45), therapist_id=second.id)
    assert booked.status == 201, await booked.text()
    refused = await book(client, c.patient_h, utc(2026, 3, 3, 14, 30), therapist_id=second.id)
    assert refused.status == 409
    assert (await refused.json())["error"]["code"] == "patient_busy"


async def test_moving_a_visit_offers_times_that_overlap_where_it_is_now(
    client: TestClient, services: Services, people: People
) -> None:
    c = await make_clinic(client, services, people)
    made = await book(client, c.patient_h, VISIT, therapist_id=c.therapist.id)
    appointment_id = (await made.json())["id"]
    await page_sign_in(client, c.patient)
    page = await client.get(f"/appointments/{appointment_id}/reschedule")
    text = await page.text()
    assert page.status == 200, text
    offered = set()
    for href in re.findall(r'href="([^"]+)"', text):
        query = parse_qs(urlsplit(html.unescape(href)).query)
        if "start" in query:
            offered.add(datetime.fromisoformat(query["start"][0]))
    # Half an hour later overlaps the visit's present time, which the move gives up.
    assert utc(2026, 3, 3, 15, 30) in offered
    assert VISIT not in offered
    # The move itself is accepted.
    headers = await sign_in(client, c.patient)
    moved = await client.post(
        f"/api/v1/appointments/{appointment_id}/reschedule",
        json={"start": iso(utc(2026, 3, 3, 15, 30))},
        headers=headers,
    )
    assert moved.status == 200, await moved.text()
