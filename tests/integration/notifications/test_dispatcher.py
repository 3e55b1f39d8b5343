"""The dispatcher: once per message across instances, again after a sender stopped mid-send,
and kept without SMTP in mailbox mode."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from telehealth.accounts.models import Role
from telehealth.actors import Caller
from telehealth.clock import ManualClock
from telehealth.db import create_engine, create_session_factory
from telehealth.notifications import outbox
from telehealth.notifications.dispatcher import MAILBOX_REPLY, Dispatcher
from telehealth.notifications.models import OutboxMessage
from telehealth.notifications.rules import Kind
from telehealth.unit_of_work import Services, unit_of_work
from tests.conftest import People, Person
from tests.integration.mail import Mailbox

# Written due a little later and without waking the app's own dispatcher (which polls hourly in
# these tests): each test moves the clock and drives the dispatchers it compares.
LATER = timedelta(minutes=5)


def _stay_asleep() -> None:
    """Nothing is woken by these writes."""


async def queue(
    services: Services, person: Person, count: int, address: str | None = None, first: int = 0
) -> list[OutboxMessage]:
    """Messages due LATER, written as a feature writes them."""
    rows = []
    services = replace(services, messages_queued=_stay_asleep)
    async with unit_of_work(services, Caller(actor=None, ip="test")) as uow:
        for n in range(first, first + count):
            row = await outbox.queue_in(
                uow,
                services,
                outbox.NewMessage(
                    kind=Kind.BOOKED,
                    person_id=person.id,
                    address=address or person.email,
                    subject=f"Message {n}",
                    body_text=f"Text {n}",
                    body_html=f"<p>Text {n}</p>",
                    revision=n,
                ),
                uow.now + LATER,
            )
            assert row is not None
            rows.append(row)
    return rows


async def stored(services: Services) -> dict[str, OutboxMessage]:
    async with services.sessions() as session:
        return {r.subject: r for r in (await session.scalars(select(OutboxMessage))).all()}


async def test_the_same_message_is_written_once(
    client: TestClient, services: Services, people: People
) -> None:
    patient = await people.make(Role.PATIENT)
    [first] = await queue(services, patient, 1)
    async with unit_of_work(services, Caller(actor=None, ip="test")) as uow:
        again = await outbox.queue_in(
            uow,
            services,
            outbox.NewMessage(Kind.BOOKED, patient.id, patient.email, "Message 0", "", ""),
            first.scheduled_for,
        )
    assert again is None
    assert len(await stored(services)) == 1


async def test_two_instances_passing_at_once_send_each_message_once(
    client: TestClient, services: Services, people: People, clock: ManualClock, mailbox: Mailbox
) -> None:
    patient = await people.make(Role.PATIENT)
    rows = await queue(services, patient, 45)
    clock.advance(LATER)
    # A second instance: its own engine and pool on the same database.
    engine = create_engine(services.settings)
    try:
        other = replace(services, sessions=create_session_factory(engine))
        counts = await asyncio.gather(
            Dispatcher(services).dispatch_due(), Dispatcher(other).dispatch_due()
        )
    finally:
        await engine.dispose()
    assert sum(counts) == 45
    received = sorted(str(m["Message-ID"]) for m in mailbox.messages)
    assert received == sorted(r.message_id for r in rows)
    assert {r.status for r in (await stored(services)).values()} == {"sent"}


async def test_a_message_left_sending_is_sent_again_when_its_lease_runs_out(
    client: TestClient,
    services: Services,
    people: People,
    clock: ManualClock,
    mailbox: Mailbox,
) -> None:
    patient = await people.make(Role.PATIENT)
    expired, held = await queue(services, patient, 2)
    clock.advance(LATER)
    # Two instances stopped mid-send: one a while ago, one that may still be sending.
    async with services.sessions() as session:
        for row, until in ((expired, clock.now()), (held, clock.now() + timedelta(seconds=1))):
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(status="sending", attempts=1, claimed_until=until)
            )
        await session.commit()
    assert await Dispatcher(services).dispatch_due() == 1
    [message] = mailbox.messages
    assert message["Message-ID"] == expired.message_id
    after = await stored(services)
    assert (after["Message 0"].status, after["Message 0"].attempts) == ("sent", 2)
    assert after["Message 1"].status == "sending"


async def test_mailbox_delivery_keeps_messages_without_sending(
    client: TestClient, services: Services, people: People, clock: ManualClock, mailbox: Mailbox
) -> None:
    patient = await people.make(Role.PATIENT)
    await queue(services, patient, 2)
    clock.advance(LATER)
    kept = replace(services, settings=replace(services.settings, mail_delivery="mailbox"))
    assert await Dispatcher(kept).dispatch_due() == 2
    assert mailbox.messages == []
    rows = (await stored(services)).values()
    assert {(r.status, r.provider_reply) for r in rows} == {("sent", MAILBOX_REPLY)}


async def test_a_refused_address_fails_at_once_and_a_full_mailbox_is_tried_again(
    client: TestClient, services: Services, people: People, clock: ManualClock, mailbox: Mailbox
) -> None:
    patient = await people.make(Role.PATIENT)
    await queue(services, patient, 1, address="nobody@example.test")
    await queue(services, patient, 1, address="full@example.test", first=1)
    clock.advance(LATER)
    assert await Dispatcher(services).dispatch_due() == 0
    assert mailbox.messages == []
    after = await stored(services)
    refused, full = after["Message 0"], after["Message 1"]
    assert (refused.status, refused.attempts) == ("failed", 1)
    assert refused.last_error and "550" in refused.last_error
    assert (full.status, full.attempts) == ("pending", 1)
    assert full.last_error and "452" in full.last_error
