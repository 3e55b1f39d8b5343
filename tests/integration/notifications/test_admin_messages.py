"""The admin's messages pages: failed messages are visible (masked addresses, no text on the
list), filtered and paged; one message's text is a read audited with its patient; "Send again"
puts a failed message back in the queue and the dispatcher sends it to the real SMTP server."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import timedelta
from urllib.parse import urlencode

from aiohttp.test_utils import TestClient
from aiohttp.web import Application
from sqlalchemy import select

from telehealth.accounts.models import Role
from telehealth.actors import Caller
from telehealth.audit.models import AuditEvent
from telehealth.clock import ManualClock
from telehealth.notifications import outbox
from telehealth.notifications.dispatcher import DISPATCHER, Dispatcher
from telehealth.notifications.models import OutboxMessage
from telehealth.notifications.rules import Kind
from telehealth.unit_of_work import Services, unit_of_work
from tests.conftest import People, Person
from tests.integration.helpers import csrf_from_page, sign_in
from tests.integration.mail import Mailbox, free_port

LATER = timedelta(minutes=5)
_ROW = re.compile(r'<tr data-message="([0-9a-f-]{36})">')


def _stay_asleep() -> None:
    """The app's own dispatcher is not woken by these writes: the tests drive the passes."""


async def queue(
    services: Services, person: Person, count: int = 1, kind: Kind = Kind.BOOKED
) -> list[OutboxMessage]:
    """Messages due LATER, written as a feature writes them."""
    quiet = replace(services, messages_queued=_stay_asleep)
    rows = []
    async with unit_of_work(quiet, Caller(actor=None, ip="test")) as uow:
        for n in range(count):
            row = await outbox.queue_in(
                uow,
                quiet,
                outbox.NewMessage(
                    kind=kind,
                    person_id=person.id,
                    address=person.email,
                    subject=f"Your visit {n} with Dana",
                    body_text=f"Knee pain follow-up {n}",
                    body_html=f"<p>Knee pain follow-up {n}</p>",
                    revision=n,
                ),
                uow.now + LATER,
            )
            assert row is not None
            rows.append(row)
    return rows


async def fail_due(services: Services, clock: ManualClock) -> None:
    """Try every message now due against a port nothing listens on, once, for good."""
    clock.advance(LATER)
    closed = replace(
        services.settings, smtp_port=free_port(), mail_max_attempts=2, mail_retry=LATER
    )
    failing = Dispatcher(replace(services, settings=closed, messages_queued=_stay_asleep))
    assert await failing.dispatch_due() == 0
    clock.advance(LATER)
    assert await failing.dispatch_due() == 0


async def stored(services: Services, message_id: uuid.UUID) -> OutboxMessage:
    async with services.sessions() as session:
        row = await session.get(OutboxMessage, message_id)
        assert row is not None
        return row


async def events(services: Services, action: str) -> list[AuditEvent]:
    async with services.sessions() as session:
        found = await session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        )
        return list(found.all())


async def get(client: TestClient, **query: str) -> tuple[int, str]:
    response = await client.get("/admin/messages?" + urlencode(query))
    return response.status, await response.text()


def masked(email: str) -> str:
    return email[0] + "•••@" + email.split("@")[1]


async def test_failed_messages_are_listed_with_masked_addresses_and_no_text(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    admin = await people.make(Role.ADMIN)
    patient = await people.make(Role.PATIENT, "Maria Lopez")
    [row] = await queue(services, patient, kind=Kind.CHANGED)
    await fail_due(services, clock)
    assert (await stored(services, row.id)).status == "failed"
    await sign_in(client, admin)

    home = await (await client.get("/")).text()
    assert "1 message could not be sent" in home
    assert 'href="/admin/messages?status=failed"' in home

    status, page = await get(client, status="failed")
    assert status == 200
    assert _ROW.findall(page) == [str(row.id)]
    assert "Maria Lopez" in page
    assert masked(patient.email) in page
    assert patient.email not in page
    assert "Visit moved" in page
    assert "Could not be sent" in page
    assert "The mail server could not be reached." in page
    assert "<details>" in page
    # The list shows no message text: it holds clinical details.
    assert "Knee pain" not in page
    assert "Your visit" not in page
    [listed] = await events(services, "message.list")
    assert listed.patient_id == patient.id
    assert listed.actor_id == admin.id

    opened = await client.get(f"/admin/messages/{row.id}")
    text = await opened.text()
    assert opened.status == 200
    assert "Your visit 0 with Dana" in text
    assert "Knee pain follow-up 0" in text
    assert "Send again" in text
    [read] = await events(services, "message.read")
    assert (read.patient_id, read.resource_id) == (patient.id, str(row.id))


async def test_status_and_patient_filters_and_paging(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    admin = await people.make(Role.ADMIN)
    maria = await people.make(Role.PATIENT, "Maria Lopez")
    omar = await people.make(Role.PATIENT, "Omar Haddad")
    marias = await queue(services, maria, count=51)
    [omars] = await queue(services, omar, kind=Kind.CANCELLED)
    await fail_due(services, clock)
    await sign_in(client, admin)

    _, first = await get(client)
    assert len(_ROW.findall(first)) == 50
    older = re.search(r'href="([^"]*)" rel="next">Next', first)
    assert older is not None and 'rel="prev"' not in first
    second = await (await client.get(older.group(1).replace("&amp;", "&"))).text()
    shown = set(_ROW.findall(first)) | set(_ROW.findall(second))
    assert shown == {str(r.id) for r in [*marias, omars]}
    assert 'rel="prev">' in second and 'rel="next">' not in second

    _, by_name = await get(client, patient="omar")
    assert _ROW.findall(by_name) == [str(omars.id)]
    assert "Visit cancelled" in by_name
    # The person page links to that person's messages.
    person_page = await (await client.get(f"/admin/people/{omar.id}")).text()
    assert f'href="/admin/messages?person={omar.id}"' in person_page
    _, by_id = await get(client, person=str(omar.id), status="failed")
    assert _ROW.findall(by_id) == [str(omars.id)]
    assert "Only the messages to one person, Omar Haddad." in by_id
    _, none_sent = await get(client, status="sent")
    assert _ROW.findall(none_sent) == []
    assert "No messages match." in none_sent

    # Each list is audited once per patient on it, with how many of theirs it showed.
    by_request: dict[str, list[AuditEvent]] = {}
    for event in await events(services, "message.list"):
        by_request.setdefault(event.request_id or "", []).append(event)
    first_page, *_ = by_request.values()
    assert sum(e.details["count"] for e in first_page) == 50
    assert len({e.patient_id for e in first_page}) == len(first_page)
    assert {e.patient_id for e in first_page} <= {maria.id, omar.id}


async def test_send_again_queues_a_failed_message_and_the_dispatcher_sends_it(
    client: TestClient,
    app: Application,
    services: Services,
    people: People,
    clock: ManualClock,
    mailbox: Mailbox,
) -> None:
    admin = await people.make(Role.ADMIN)
    patient = await people.make(Role.PATIENT, "Maria Lopez")
    [row] = await queue(services, patient)
    await fail_due(services, clock)
    failed = await stored(services, row.id)
    assert (failed.status, failed.attempts) == ("failed", 2)
    await sign_in(client, admin)

    token = await csrf_from_page(client, f"/admin/messages/{row.id}")
    response = await client.post(
        f"/admin/messages/{row.id}/send-again", data={"csrf_token": token}, allow_redirects=False
    )
    assert response.status == 303, await response.text()
    assert response.headers["Location"] == f"/admin/messages/{row.id}?sent_again=1"
    [resend] = await events(services, "message.resend")
    assert (resend.patient_id, resend.outcome, resend.actor_id) == (patient.id, "success", admin.id)

    # The send-again woke the app's dispatcher; this pass waits for it or sends the message.
    await app[DISPATCHER].dispatch_due()
    sent = await stored(services, row.id)
    # Its tries were counted afresh: one, the one that delivered it.
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 1, None)
    [delivered] = mailbox.messages
    assert delivered["To"] == patient.email
    assert delivered["Subject"] == "Your visit 0 with Dana"

    page = await (await client.get(f"/admin/messages/{row.id}?sent_again=1")).text()
    assert "Sent again" in page
    assert "Send again</button>" not in page

    # Sent now: sending it again is refused in words, and nothing changes.
    token = await csrf_from_page(client, f"/admin/messages/{row.id}")
    refused = await client.post(
        f"/admin/messages/{row.id}/send-again", data={"csrf_token": token}, allow_redirects=False
    )
    assert refused.status == 409
    assert "already sent" in await refused.text()
    assert (await stored(services, row.id)).status == "sent"
    assert [e.outcome for e in await events(services, "message.resend")] == ["success", "denied"]


async def test_send_again_needs_the_form_token(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    admin = await people.make(Role.ADMIN)
    patient = await people.make(Role.PATIENT)
    [row] = await queue(services, patient)
    await fail_due(services, clock)
    await sign_in(client, admin)
    response = await client.post(
        f"/admin/messages/{row.id}/send-again", data={}, allow_redirects=False
    )
    assert response.status == 403
    assert (await stored(services, row.id)).status == "failed"


async def test_therapists_and_patients_are_refused(
    client: TestClient, services: Services, people: People, clock: ManualClock
) -> None:
    patient = await people.make(Role.PATIENT, "Maria Lopez")
    therapist = await people.make(Role.THERAPIST)
    [row] = await queue(services, patient)
    await fail_due(services, clock)
    for person in (therapist, patient):
        await sign_in(client, person)
        token = await csrf_from_page(client, "/book" if person is patient else "/agenda")
        for method, path in (
            ("GET", "/admin/messages?status=failed"),
            ("GET", f"/admin/messages/{row.id}"),
            ("POST", f"/admin/messages/{row.id}/send-again"),
        ):
            data = {"csrf_token": token} if method == "POST" else None
            response = await client.request(method, path, data=data, allow_redirects=False)
            assert response.status == 403, f"{person.user.role} {method} {path}"
            text = await response.text()
            assert "Knee pain" not in text and patient.email not in text
    assert (await stored(services, row.id)).status == "failed"
    assert await events(services, "message.list") == []
    assert await events(services, "message.read") == []


async def test_malformed_queries_and_ids_are_answered_in_words(
    client: TestClient, services: Services, people: People
) -> None:
    admin = await people.make(Role.ADMIN)
    await sign_in(client, admin)
    for query, words in (
        ({"patient": "Maria\x00"}, "Patient: type part of a name"),
        ({"status": "lost"}, "Status: choose one"),
        ({"page": "0"}, "That page of the list does not exist"),
        ({"page": "two"}, "That page of the list does not exist"),
        ({"person": "not-an-id"}, "That person link is not valid"),
        ({"colour": "red"}, "cannot be filtered that way"),
    ):
        status, page = await get(client, **query)
        assert status == 400, query
        assert words in page, query
    for path in ("/admin/messages/not-an-id", f"/admin/messages/{uuid.uuid4()}"):
        assert (await client.get(path)).status == 404
    token = await csrf_from_page(client, "/admin/messages")
    for path in (
        "/admin/messages/%00/send-again",
        f"/admin/messages/{uuid.uuid4()}/send-again",
    ):
        response = await client.post(path, data={"csrf_token": token}, allow_redirects=False)
        assert response.status == 404, path
