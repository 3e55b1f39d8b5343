"""The outbox as the clinic's admins see it: the messages and where each is on its way, one
message's text, and sending a failed one again. Every read of a patient's messages is audited.

The list carries no message text (it holds clinical details); a message's own page does, and
reading it is audited with its patient. Addresses are masked on the list: the admin sees whose.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Join,
    Row,
    String,
    Uuid,
    column,
    func,
    or_,
    select,
    table,
    update,
)

from telehealth.actors import Actor
from telehealth.audit.chain import AuditRecord
from telehealth.errors import Conflict, NotFound, PermissionDenied
from telehealth.notifications.models import OutboxMessage
from telehealth.notifications.rules import STATUS_FILTERS, Status
from telehealth.unit_of_work import Services, UnitOfWork

PAGE_SIZE = 50

# The accounts feature owns the users table; notifications may not import it (features hand
# notifications finished messages, never the other way), so the admin's list names the few
# columns it reads here.
_users = table(
    "users",
    column("id", Uuid()),
    column("display_name", String()),
    column("email", String()),
    column("role", String()),
)


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied("Only clinic administrators can see the messages to patients.")


@dataclass(frozen=True)
class MessageFilter:
    """Which messages to list: a status filter's key (rules.STATUS_FILTERS), a piece of the
    person's name or email, or the person's id; the page is counted from 1."""

    status: str | None = None
    person_text: str | None = None
    person_id: uuid.UUID | None = None
    page: int = 1
    limit: int = PAGE_SIZE


@dataclass(frozen=True)
class MessageRow:
    """One message on the admin's list: where it is on its way, never what it says."""

    id: uuid.UUID
    kind: str
    person_id: uuid.UUID
    person_name: str
    address: str
    status: str
    attempts: int
    last_error: str | None
    provider_reply: str | None
    created_at: datetime
    scheduled_for: datetime
    next_attempt_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class MessagePage:
    """One page of the list, newest first, and whether pages lie either side."""

    rows: list[MessageRow]
    page: int
    has_older: bool


@dataclass(frozen=True)
class MessageText:
    """A message with what it says, for the admin who opens it."""

    row: MessageRow
    subject: str
    body_text: str


_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.kind,
    OutboxMessage.person_id,
    _users.c.display_name,
    OutboxMessage.address,
    OutboxMessage.status,
    OutboxMessage.attempts,
    OutboxMessage.last_error,
    OutboxMessage.provider_reply,
    OutboxMessage.created_at,
    OutboxMessage.scheduled_for,
    OutboxMessage.next_attempt_at,
    OutboxMessage.sent_at,
)


def _conditions(flt: MessageFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if flt.status:
        conditions.append(OutboxMessage.status.in_([s.value for s in STATUS_FILTERS[flt.status]]))
    if flt.person_id:
        conditions.append(OutboxMessage.person_id == flt.person_id)
    if flt.person_text:
        needle = flt.person_text.lower()
        conditions.append(
            OutboxMessage.person_id.in_(
                select(_users.c.id).where(
                    or_(
                        func.lower(_users.c.display_name).contains(needle, autoescape=True),
                        func.lower(_users.c.email).contains(needle, autoescape=True),
                    )
                )
            )
        )
    return conditions


def _row(found: Row[Any]) -> MessageRow:
    # Row._mapping is the row's documented by-column view.
    values = found._mapping
    return MessageRow(
        id=values[OutboxMessage.id],
        kind=values[OutboxMessage.kind],
        person_id=values[OutboxMessage.person_id],
        person_name=values[_users.c.display_name] or "Unknown person",
        address=values[OutboxMessage.address],
        status=values[OutboxMessage.status],
        attempts=values[OutboxMessage.attempts],
        last_error=values[OutboxMessage.last_error],
        provider_reply=values[OutboxMessage.provider_reply],
        created_at=values[OutboxMessage.created_at],
        scheduled_for=values[OutboxMessage.scheduled_for],
        next_attempt_at=values[OutboxMessage.next_attempt_at],
        sent_at=values[OutboxMessage.sent_at],
    )


def _with_person() -> Join:
    """The messages with their person's name (kept when the account is gone)."""
    return OutboxMessage.__table__.outerjoin(_users, _users.c.id == OutboxMessage.person_id)


async def list_messages_in(uow: UnitOfWork, flt: MessageFilter) -> MessagePage:
    """A page of messages, newest first (offset-paged); audited once per patient on it."""
    _require_admin(uow.actor)
    offset = (flt.page - 1) * flt.limit
    query = (
        select(*_COLUMNS)
        .select_from(_with_person())
        .where(*_conditions(flt))
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .offset(offset)
        .limit(flt.limit + 1)
    )
    found = [_row(r) for r in (await uow.session.execute(query)).all()]
    rows, has_older = found[: flt.limit], len(found) > flt.limit
    counts: dict[uuid.UUID, int] = {}
    for row in rows:
        counts[row.person_id] = counts.get(row.person_id, 0) + 1
    for person_id, count in counts.items():
        uow.audit(
            AuditRecord(
                "message.list",
                "outbox_message",
                patient_id=person_id,
                details={"count": count, "status": flt.status},
            )
        )
    return MessagePage(rows, flt.page, has_older)


async def _one(uow: UnitOfWork, message_id: uuid.UUID) -> tuple[MessageRow, str, str]:
    found = (
        await uow.session.execute(
            select(*_COLUMNS, OutboxMessage.subject, OutboxMessage.body_text)
            .select_from(_with_person())
            .where(OutboxMessage.id == message_id)
        )
    ).first()
    if found is None:
        raise NotFound("No such message.")
    return _row(found), found.subject, found.body_text


async def read_message_in(uow: UnitOfWork, message_id: uuid.UUID) -> MessageText:
    """One message with its subject and text, for an admin; audited as a read of its patient."""
    _require_admin(uow.actor)
    row, subject, body_text = await uow.guarded(
        _one(uow, message_id), "message.read", "outbox_message", str(message_id)
    )
    uow.audit(
        AuditRecord(
            "message.read",
            "outbox_message",
            resource_id=str(row.id),
            patient_id=row.person_id,
            details={"kind": row.kind, "status": row.status},
        )
    )
    return MessageText(row, subject, body_text)


async def send_again_in(uow: UnitOfWork, services: Services, message_id: uuid.UUID) -> None:
    """Put a failed message back in the queue, due now, its tries counted afresh; the dispatcher
    is woken once the work commits. A message that has not failed is refused (409)."""
    _require_admin(uow.actor)
    person_id = await uow.session.scalar(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == Status.FAILED.value)
        .values(
            status=Status.PENDING.value,
            attempts=0,
            next_attempt_at=uow.now,
            claimed_until=None,
        )
        .returning(OutboxMessage.person_id)
        .execution_options(synchronize_session=False)
    )
    if person_id is None:
        # Not failed (or not there): say which, after reading it as the refusal's audit needs.
        row, _, _ = await uow.guarded(
            _one(uow, message_id), "message.resend", "outbox_message", str(message_id)
        )
        uow.audit(
            AuditRecord(
                "message.resend",
                "outbox_message",
                outcome="denied",
                resource_id=str(message_id),
                patient_id=row.person_id,
                details={"status": row.status},
            )
        )
        raise Conflict(
            "Only a message that could not be sent can be sent again; "
            f"this one is {_status_now(row.status)}."
        )
    uow.audit(
        AuditRecord(
            "message.resend",
            "outbox_message",
            resource_id=str(message_id),
            patient_id=person_id,
        )
    )
    uow.after_commit.append(services.messages_queued)


def _status_now(status: str) -> str:
    return {
        Status.PENDING.value: "already waiting to be sent",
        Status.SENDING.value: "being sent right now",
        Status.SENT.value: "already sent",
        Status.WITHDRAWN.value: "withdrawn because what it announced changed",
    }.get(status, status)


async def failed_count_in(uow: UnitOfWork) -> int:
    """How many messages could not be sent (the admin's home page); a count names nobody."""
    _require_admin(uow.actor)
    count: int = (
        await uow.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == Status.FAILED.value)
        )
        or 0
    )
    return count
