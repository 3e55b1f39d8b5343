"""The outbox's writing side: messages are written in the caller's unit of work, so a message
exists exactly when the change that causes it committed, and withdrawn the same way."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select, update

from telehealth.audit.chain import AuditRecord
from telehealth.notifications.models import OutboxMessage
from telehealth.notifications.rules import Channel, Kind, Status, dedupe_key, message_id
from telehealth.unit_of_work import Services, UnitOfWork


@dataclass(frozen=True)
class NewMessage:
    """A finished message for one person, as a feature hands it over."""

    kind: Kind
    person_id: uuid.UUID
    address: str
    subject: str
    body_text: str
    body_html: str
    appointment_id: uuid.UUID | None = None
    ics: str | None = None
    # Which version of the subject the message is about (an appointment's version).
    revision: int = 0
    channel: Channel = Channel.EMAIL


def _host(services: Services) -> str:
    return urlsplit(services.settings.public_url).hostname or "localhost"


async def queue_in(
    uow: UnitOfWork, services: Services, message: NewMessage, scheduled_for: datetime
) -> OutboxMessage | None:
    """Write a message to be sent from `scheduled_for` on; None when the same message (kind,
    subject, moment) was already written. The dispatcher is woken once the work commits."""
    subject_id = message.appointment_id or message.person_id
    key = dedupe_key(message.kind, subject_id, message.revision, scheduled_for)
    if await uow.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)):
        return None
    row_id = uuid.uuid4()
    row = OutboxMessage(
        id=row_id,
        kind=message.kind.value,
        channel=message.channel.value,
        person_id=message.person_id,
        address=message.address,
        appointment_id=message.appointment_id,
        scheduled_for=scheduled_for,
        dedupe_key=key,
        subject=message.subject[:200],
        body_text=message.body_text,
        body_html=message.body_html,
        ics=message.ics,
        message_id=message_id(row_id, _host(services)),
        status=Status.PENDING.value,
        attempts=0,
        next_attempt_at=scheduled_for,
        created_at=uow.now,
    )
    uow.session.add(row)
    await uow.session.flush()
    # What a message says about a patient is written into the database to leave it later.
    uow.audit(
        AuditRecord(
            "message.queue",
            "outbox_message",
            resource_id=str(row_id),
            patient_id=message.person_id,
            details={"kind": message.kind.value, "channel": message.channel.value},
        )
    )
    uow.after_commit.append(services.messages_queued)
    return row


async def withdraw_pending_in(uow: UnitOfWork, appointment_id: uuid.UUID) -> list[Kind]:
    """Withdraw the messages about an appointment that have not started to leave; the kinds
    withdrawn. A message already being sent is not withdrawn: it goes, and what follows says so."""
    withdrawn = (
        await uow.session.scalars(
            update(OutboxMessage)
            .where(
                OutboxMessage.appointment_id == appointment_id,
                OutboxMessage.status == Status.PENDING.value,
            )
            .values(status=Status.WITHDRAWN.value, next_attempt_at=uow.now)
            .returning(OutboxMessage.kind)
            .execution_options(synchronize_session=False)
        )
    ).all()
    return [Kind(kind) for kind in withdrawn]


async def withdraw_pending_to_person_in(uow: UnitOfWork, person_id: uuid.UUID, kind: Kind) -> int:
    """Withdraw one person's messages of a kind that have not started to leave (a newer one
    replaces them); how many were withdrawn."""
    withdrawn = await uow.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.person_id == person_id,
            OutboxMessage.kind == kind.value,
            OutboxMessage.status == Status.PENDING.value,
        )
        .values(status=Status.WITHDRAWN.value, next_attempt_at=uow.now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(withdrawn, "rowcount", 0) or 0)
