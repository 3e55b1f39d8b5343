"""The 2026 DST changes in New York and London through the API: 09:00 local stays 09:00 local."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient

from telehealth.accounts.models import Role
from telehealth.clock import ManualClock
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.scheduling.support import iso, parse, set_hours, sign_in, utc

# (zone, a Friday before the change, the Monday after it, first UTC start on each, when to search)
CHANGES = [
    ("America/New_York", date(2026, 3, 6), date(2026, 3, 9), (14, 13), utc(2026, 3, 2, 12)),
    ("America/New_York", date(2026, 10, 30), date(2026, 11, 2), (13, 14), utc(2026, 10, 26, 12)),
    ("Europe/London", date(2026, 3, 27), date(2026, 3, 30), (9, 8), utc(2026, 3, 23, 12)),
    ("Europe/London", date(2026, 10, 23), date(2026, 10, 26), (8, 9), utc(2026, 10, 19, 12)),
]


async def _setup(client: TestClient, services: Services, people: People, zone: str):
    therapist = await people.make(Role.THERAPIST, time_zone=zone)
    patient = await people.make(Role.PATIENT, time_zone=zone)
    await people.assign(patient, therapist)
    await set_hours(services, therapist.user, zone)
    return therapist, patient, await sign_in(client, therapist), await sign_in(client, patient)


@pytest.mark.parametrize(("zone", "before", "after", "utc_hours", "now"), CHANGES)
async def test_weekly_hours_and_slots_keep_local_time(
    client: TestClient,
    services: Services,
    people: People,
    clock: ManualClock,
    zone: str,
    before: date,
    after: date,
    utc_hours: tuple[int, int],
    now: datetime,
) -> None:
    clock.set(now)
    therapist, _, _, patient_h = await _setup(client, services, people, zone)
    tz = ZoneInfo(zone)
    response = await client.get(
        "/api/v1/slots",
        params={
            "type": "follow_up",
            "modality": "virtual",
            "therapist_id": str(therapist.id),
            "start": iso(utc(before.year, before.month, before.day)),
            "end": iso(utc(after.year, after.month, after.day) + timedelta(days=1)),
        },
        headers=patient_h,
    )
    assert response.status == 200, await response.text()
    slots = (await response.json())["slots"]
    by_day: dict[str, list[dict]] = {}
    for slot in slots:
        by_day.setdefault(slot["local_date"], []).append(slot)
    assert set(by_day) == {before.isoformat(), after.isoformat()}  # the weekend has no hours
    for day, hour in zip((before, after), utc_hours, strict=True):
        first = by_day[day.isoformat()][0]
        assert parse(first["start"]) == utc(day.year, day.month, day.day, hour)
        assert parse(first["local_start"]).astimezone(tz).strftime("%H:%M") == "09:00"
        last = by_day[day.isoformat()][-1]
        # Follow-up: 45 minutes plus 15 of documentation must end by 17:00 local.
        assert parse(last["local_start"]).astimezone(tz).strftime("%H:%M") == "16:00"
        local = sorted(
            parse(s["local_start"]).astimezone(tz).strftime("%H:%M")
            for s in by_day[day.isoformat()]
        )
        assert "12:00" not in local and "13:00" in local  # lunch, in local time


@pytest.mark.parametrize(
    ("zone", "first_day", "utc_before", "utc_after"),
    [
        ("America/New_York", date(2026, 3, 3), 15, 14),
        ("Europe/London", date(2026, 3, 24), 10, 9),
    ],
)
async def test_series_across_spring_forward_keeps_ten_o_clock(
    client: TestClient,
    services: Services,
    people: People,
    clock: ManualClock,
    zone: str,
    first_day: date,
    utc_before: int,
    utc_after: int,
) -> None:
    clock.set(utc(first_day.year, first_day.month, first_day.day) - timedelta(days=1))
    _, patient, therapist_h, _ = await _setup(client, services, people, zone)
    response = await client.post(
        "/api/v1/appointment-series",
        json={
            "patient_id": str(patient.id),
            "type": "follow_up",
            "modality": "virtual",
            "weekdays": [1, 3],
            "time": "10:00",
            "first_day": first_day.isoformat(),
            "weeks": 2,
            "zone": zone,
        },
        headers=therapist_h,
    )
    assert response.status == 201, await response.text()
    booked = (await response.json())["booked"]
    assert len(booked) == 4
    tz = ZoneInfo(zone)
    assert [parse(b["local_start"]).astimezone(tz).strftime("%a %H:%M") for b in booked] == [
        "Tue 10:00",
        "Thu 10:00",
        "Tue 10:00",
        "Thu 10:00",
    ]
    assert [parse(b["start"]).hour for b in booked] == [
        utc_before,
        utc_before,
        utc_after,
        utc_after,
    ]
