"""Booking, moving and cancelling reach the patient by email, once, from the outbox."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage

import icalendar
from aiohttp.test_utils import TestClient
from aiohttp.web import Application
from sqlalchemy import select

from telehealth.clock import ManualClock
from telehealth.notifications.dispatcher import DISPATCHER
from telehealth.notifications.models import OutboxMessage
from telehealth.unit_of_work import Services
from tests.conftest import People
from tests.integration.mail import Mailbox
from tests.integration.scheduling.support import book, iso, make_clinic, utc

TUESDAY_10 = utc(2026, 3, 3, 15)  # 10:00 in New York
GRACE = timedelta(minutes=2)


async def outbox(services: Services) -> list[OutboxMessage]:
    async with services.sessions() as session:
        return list(
            (
                await session.scalars(
                    select(OutboxMessage).order_by(OutboxMessage.created_at, OutboxMessage.kind)
                )
            ).all()
        )


async def dispatch(app: Application) -> None:
    await app[DISPATCHER].dispatch_due()


def calendar_of(message: EmailMessage) -> icalendar.Calendar:
    parts = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    content = parts[0].get_content()
    return icalendar.Calendar.from_ical(content)


async def test_a_booking_sends_one_email_after_the_grace(
    client: TestClient,
    app: Application,
    services: Services,
    people: People,
    clock: ManualClock,
    mailbox: Mailbox,
) -> None:
    c = await make_clinic(client, services, people)
    booked = await book(client, c.patient_h, TUESDAY_10, therapist_id=c.therapist.id)
    assert booked.status == 201, await booked.text()
    appointment = await booked.json()
    [row] = await outbox(services)
    assert (row.kind, row.status, row.address) == ("booked", "pending", c.patient.email)
    assert row.scheduled_for == clock.now() + GRACE
    assert str(row.appointment_id) == appointment["id"]

    await dispatch(app)
    clock.advance(GRACE - timedelta(seconds=1))
    await dispatch(app)
    assert mailbox.messages == []

    clock.advance(timedelta(seconds=1))
    await dispatch(app)
    await dispatch(app)  # a second pass finds nothing left to send
    [message] = mailbox.messages
    assert message["To"] == c.patient.email
    assert message["Message-ID"] == row.message_id
    assert message["Subject"].startswith("Armor Physical Therapy: Your visit is booked")
    assert "Tuesday, March 3, 2026, 10:00\u201310:45 AM EST" in message["Subject"]
    text = message.get_body(("plain",))
    assert text is not None
    body = text.get_content()
    assert f"/appointments/{appointment['id']}" in body
    assert c.therapist.user.display_name in body
    assert "late cancellation" in body  # the type's cancellation policy
    html = message.get_body(("html",))
    assert html is not None and "Open the visit" in html.get_content()
    [event] = calendar_of(message).walk("VEVENT")
    assert event.decoded("dtstart") == TUESDAY_10
    [alarm] = event.walk("VALARM")
    assert alarm.decoded("trigger") == -timedelta(minutes=30)
    [sent] = await outbox(services)
    assert sent.status == "sent" and sent.attempts == 1 and sent.sent_at == clock.now()
    assert sent.provider_reply is not None and "queued as TEST1" in sent.provider_reply


async def test_a_cancel_within_the_grace_sends_nothing(
    client: TestClient,
    app: Application,
    services: Services,
    people: People,
    clock: ManualClock,
    mailbox: Mailbox,
) -> None:
    c = await make_clinic(client, services, people)
    appointment = await (
        await book(client, c.patient_h, TUESDAY_10, therapist_id=c.therapist.id)
    ).json()
    clock.advance(timedelta(seconds=30))
    cancelled = await client.post(
        f"/api/v1/appointments/{appointment['id']}/cancel",
        json={"reason": "wrong day"},
        headers=c.patient_h,
    )
    assert cancelled.status == 200, await cancelled.text()
    clock.advance(GRACE * 2)
    await dispatch(app)
    assert mailbox.messages == []
    assert [(r.kind, r.status) for r in await outbox(services)] == [("booked", "withdrawn")]


async def test_a_cancel_after_the_grace_sends_a_cancellation(
    client: TestClient,
    app: Application,
    services: Services,
    people: People,
    clock: ManualClock,
    mailbox: Mailbox,
) -> None:
    c = await make_clinic(client, services, people)
    appointment = await (
        await book(client, c.patient_h, TUESDAY_10, therapist_id=c.therapist.id)
    ).json()
    clock.advance(GRACE)
    await dispatch(app)
    cancelled = await client.post(
        f"/api/v1/appointments/{appointment['id']}/cancel",
        json={"reason": "feeling better"},
        headers=c.therapist_h,
    )
    assert cancelled.status == 200, await cancelled.text()
    clock.advance(GRACE)
    await dispatch(app)
    booked, cancel = mailbox.messages
    assert "Your visit is booked" in booked["Subject"]
    assert "Your visit is cancelled" in cancel["Subject"]
    assert booked["Message-ID"] != cancel["Message-ID"]
    [event] = calendar_of(cancel).walk("VEVENT")
    assert event["status"] == "CANCELLED" and not event.walk("VALARM")
    assert sorted((r.kind, r.status) for r in await outbox(services)) == [
        ("booked", "sent"),
        ("cancelled", "sent"),
    ]


async def test_a_reschedule_replaces_a_waiting_message_and_sends_one_change(
    client: TestClient,
    app: Application,
    services: Services,
    people: People,
    clock: ManualClock,
    mailbox: Mailbox,
) -> None:
    c = await make_clinic(client, services, people)
    appointment = await (
        await book(client, c.patient_h, TUESDAY_10, therapist_id=c.therapist.id)
    ).json()
    path = f"/api/v1/appointments/{appointment['id']}/reschedule"
    clock.advance(GRACE)
    await dispatch(app)
    # Moved twice within the grace: the first move's message is withdrawn, the second is sent.
    for hours in (3, 4):
        moved = await client.post(
            path, json={"start": iso(TUESDAY_10 + timedelta(hours=hours))}, headers=c.patient_h
        )
        assert moved.status == 200, await moved.text()
        clock.advance(timedelta(seconds=10))
    clock.advance(GRACE)
    await dispatch(app)
    booked, changed = mailbox.messages
    assert "Your visit is booked" in booked["Subject"]
    assert (
        "Your visit has moved: Tuesday, March 3, 2026, 2:00\u20132:45 PM EST"
        in (changed["Subject"])
    )
    [event] = calendar_of(changed).walk("VEVENT")
    assert event.decoded("dtstart") == TUESDAY_10 + timedelta(hours=4)
    assert event.walk("VALARM")
    assert sorted((r.kind, r.status) for r in await outbox(services)) == [
        ("booked", "sent"),
        ("changed", "sent"),
        ("changed", "withdrawn"),
    ]


async def test_a_booking_moved_within_the_grace_is_announced_once_at_its_new_time(
    client: TestClient,
    app: Application,
    services: Services,
    people: People,
    clock: ManualClock,
    mailbox: Mailbox,
) -> None:
    c = await make_clinic(client, services, people)
    appointment = await (
        await book(client, c.patient_h, TUESDAY_10, therapist_id=c.therapist.id)
    ).json()
    moved = await client.post(
        f"/api/v1/appointments/{appointment['id']}/reschedule",
        json={"start": iso(TUESDAY_10 + timedelta(hours=1))},
        headers=c.patient_h,
    )
    assert moved.status == 200, await moved.text()
    clock.advance(GRACE)
    await dispatch(app)
    [message] = mailbox.messages
    assert (
        "Your visit is booked: Tuesday, March 3, 2026, 11:00\u201311:45 AM EST"
        in (message["Subject"])
    )
