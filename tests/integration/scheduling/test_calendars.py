"""iCalendar downloads and secret, revocable subscription feeds."""

from __future__ import annotations

import icalendar
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from telehealth.scheduling.models import CalendarFeed
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.helpers import assert_error_shape
from tests.integration.scheduling.support import book, make_clinic, utc


async def test_single_visit_ics_has_zone_and_join_link(
    client: TestClient, services: Services, people: People
) -> None:
    c = await make_clinic(client, services, people)
    appointment = await (
        await book(client, c.patient_h, utc(2026, 3, 3, 15), therapist_id=c.therapist.id)
    ).json()
    response = await client.get(appointment["calendar_url"], headers=c.patient_h)
    assert response.status == 200
    assert response.content_type == "text/calendar"
    cal = icalendar.Calendar.from_ical(await response.read())
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["America/New_York"]
    (event,) = cal.walk("VEVENT")
    assert event.decoded("dtstart") == utc(2026, 3, 3, 15)
    assert str(event["url"]) == appointment["join_url"]
    assert appointment["join_url"] in str(event["description"])
    assert str(event["status"]) == "CONFIRMED"


async def test_feed_shows_cancellations_and_dies_when_revoked(
    client: TestClient, services: Services, people: People
) -> None:
    c = await make_clinic(client, services, people)
    kept = await (
        await book(client, c.patient_h, utc(2026, 3, 3, 15), therapist_id=c.therapist.id)
    ).json()
    dropped = await (
        await book(client, c.patient_h, utc(2026, 3, 4, 15), therapist_id=c.therapist.id)
    ).json()
    cancel = await client.post(
        f"/api/v1/appointments/{dropped['id']}/cancel", json={}, headers=c.patient_h
    )
    assert cancel.status == 200
    created = await client.post("/api/v1/calendar-feeds", headers=c.patient_h)
    assert created.status == 201
    feed = await created.json()
    path = feed["url"].split("://", 1)[1].split("/", 1)[1]
    token = path.removeprefix("calendar/").removesuffix(".ics")
    async with services.sessions() as session:
        stored = await session.scalar(select(CalendarFeed.token_hash))
    assert stored is not None and token not in stored  # only the hash is kept
    response = await client.get(f"/{path}")  # no session: the token is the credential
    assert response.status == 200, await response.text()
    cal = icalendar.Calendar.from_ical(await response.read())
    assert cal.walk("VTIMEZONE")
    statuses = {str(e["uid"]).split("@")[0]: str(e["status"]) for e in cal.walk("VEVENT")}
    assert statuses == {kept["id"]: "CONFIRMED", dropped["id"]: "CANCELLED"}
    # The therapist's feed never names the patient (feeds leave the clinic).
    therapist_feed = await (
        await client.post("/api/v1/calendar-feeds", headers=c.therapist_h)
    ).json()
    tpath = therapist_feed["url"].split("://", 1)[1].split("/", 1)[1]
    body = (await (await client.get(f"/{tpath}")).read()).decode()
    assert c.patient.user.display_name not in body
    # Only the owner may revoke; then the URL is gone.
    foreign = await client.delete(f"/api/v1/calendar-feeds/{feed['id']}", headers=c.other_h)
    await assert_error_shape(foreign, 404)
    revoked = await client.delete(f"/api/v1/calendar-feeds/{feed['id']}", headers=c.patient_h)
    assert revoked.status == 204
    assert (await client.get(f"/{path}")).status == 404
    assert (await client.get("/calendar/" + "x" * 43 + ".ics")).status == 404
    listed = await (await client.get("/api/v1/calendar-feeds", headers=c.patient_h)).json()
    assert listed["items"][0]["revoked_at"] is not None
    assert "url" not in listed["items"][0]
