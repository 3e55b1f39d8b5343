"""The dispatcher: sends the outbox's messages once they are due, at least once each.

Every instance runs one. A pass claims due messages in a short transaction (PostgreSQL: ``FOR
UPDATE SKIP LOCKED``, so two instances' passes take different rows; SQLite: the claim is one
write transaction), marking them ``sending`` with a lease, then sends each outside any
transaction and records the outcome in another short one. A message whose sender stopped
mid-send (an instance killed) is claimed again when its lease runs out: it may then reach the
person twice, under the same Message-ID, which mail systems use to drop the copy.

A unit of work that wrote messages wakes its instance's dispatcher after the commit; between
wake-ups the dispatcher polls, and sleeps no longer than until the next message comes due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

import aiosmtplib
from aiohttp import web
from sqlalchemy import ColumnElement, and_, func, or_, select, update

from telehealth.actors import Caller
from telehealth.audit.chain import AuditRecord
from telehealth.config import Settings
from telehealth.db_failures import unavailable
from telehealth.notifications.models import OutboxMessage
from telehealth.notifications.rules import Status, backoff, gives_up
from telehealth.shutdown import close_within
from telehealth.unit_of_work import Services, unit_of_work

log = logging.getLogger(__name__)

# Messages claimed per transaction: a backlog drains in several short claims.
BATCH = 20
# Let the commits of a busy moment gather into one pass.
_GATHER_SECONDS = 0.05
_FAILURE_PAUSE_SECONDS = 5.0
MAILBOX_REPLY = "kept in the mailbox (MAIL_DELIVERY=mailbox); not sent"
_SYSTEM = Caller(actor=None, ip="local")


def lease_for(settings: Settings) -> timedelta:
    """How long a claim holds: longer than a send can take (connect, greet, TLS, login, MAIL,
    RCPT, DATA each wait at most SMTP_TIMEOUT_SECONDS), so a live sender is never overtaken."""
    return timedelta(seconds=settings.smtp_timeout * 10)


def _due(now: datetime) -> ColumnElement[bool]:
    """Messages to send now: pending ones whose time came, and ones whose sender's lease ran out."""
    return or_(
        and_(
            OutboxMessage.status == Status.PENDING.value,
            OutboxMessage.next_attempt_at <= now,
        ),
        and_(
            OutboxMessage.status == Status.SENDING.value,
            OutboxMessage.claimed_until <= now,
        ),
    )


@dataclass(frozen=True)
class Claimed:
    """A message this dispatcher holds the lease of."""

    id: uuid.UUID
    kind: str
    channel: str
    person_id: uuid.UUID
    address: str
    subject: str
    body_text: str
    body_html: str
    ics: str | None
    message_id: str
    attempts: int


def email_of(message: Claimed, settings: Settings, now: datetime) -> EmailMessage:
    """The message as an email: plain text and HTML, the calendar file attached."""
    email = EmailMessage()
    email["From"] = formataddr(settings.mail_sender)
    email["To"] = message.address
    email["Subject"] = message.subject
    email["Date"] = format_datetime(now)
    email["Message-ID"] = message.message_id
    email.set_content(message.body_text)
    email.add_alternative(message.body_html, subtype="html")
    if message.ics is not None:
        method = "CANCEL" if "\nMETHOD:CANCEL" in message.ics else "PUBLISH"
        email.add_attachment(
            message.ics.encode("utf-8"),
            maintype="text",
            subtype="calendar",
            filename="visit.ics",
            params={"method": method, "charset": "utf-8"},
        )
    return email


def refused_for_good(exc: Exception) -> bool:
    """Whether the server refused the message permanently (a 5xx reply: no such mailbox, the
    message refused): trying again would be refused again. Anything else (no answer, a 4xx
    "try later", a dropped connection) is tried again."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(500 <= r.code < 600 for r in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return 500 <= exc.code < 600
    return False


class Dispatcher:
    """Sends due messages on demand (`dispatch_due`) and in the background (`running`)."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._settings = services.settings
        self._lease = lease_for(services.settings)
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        # One pass at a time in an instance: a pass asked for while the background one runs
        # waits for it, so when it returns, what was due has been dealt with.
        self._pass = asyncio.Lock()

    def wake(self) -> None:
        """Ask for a pass soon (called after a commit that wrote messages)."""
        self._wake.set()

    async def dispatch_due(self) -> int:
        """One pass: send every message due now; how many this call sent."""
        async with self._pass:
            sent = 0
            while not self._stopping.is_set():
                if not await self._anything_due():
                    break
                claimed = await self.claim(BATCH)
                for message in claimed:
                    if await self._send_one(message):
                        sent += 1
                if len(claimed) < BATCH:
                    break
            return sent

    async def claim(self, limit: int) -> list[Claimed]:
        """Take up to `limit` due messages (and ones whose sender's lease ran out)."""
        services = self._services
        async with unit_of_work(services, _SYSTEM) as uow:
            now = uow.now
            query = (
                select(OutboxMessage)
                .where(_due(now))
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(limit)
            )
            if not self._settings.is_sqlite:
                # Another instance's claim holds its rows until it commits: skip them, not wait.
                query = query.with_for_update(skip_locked=True)
            rows = (await uow.session.scalars(query)).all()
            claimed = []
            for row in rows:
                # Counted when claimed, not when it fails: a sender killed mid-send used a try.
                row.attempts += 1
                row.status = Status.SENDING.value
                row.claimed_until = now + self._lease
                claimed.append(
                    Claimed(
                        id=row.id,
                        kind=row.kind,
                        channel=row.channel,
                        person_id=row.person_id,
                        address=row.address,
                        subject=row.subject,
                        body_text=row.body_text,
                        body_html=row.body_html,
                        ics=row.ics,
                        message_id=row.message_id,
                        attempts=row.attempts,
                    )
                )
            return claimed

    async def _anything_due(self) -> bool:
        """A read before the claim's write: most wake-ups find nothing due yet (a grace period
        runs), and on SQLite a read does not take the write turn that requests wait for."""
        now = self._services.clock.now()
        async with self._services.sessions.reading() as session:
            found = await session.scalar(select(OutboxMessage.id).where(_due(now)).limit(1))
        return found is not None

    async def next_due(self) -> datetime | None:
        """When the next waiting message comes due (None: nothing waits)."""
        async with self._services.sessions.reading() as session:
            earliest: datetime | None = await session.scalar(
                select(func.min(OutboxMessage.next_attempt_at)).where(
                    OutboxMessage.status == Status.PENDING.value
                )
            )
        return earliest

    async def deliver(self, message: Claimed) -> str:
        """Hand one message over; the server's reply. Raises when it could not be handed over."""
        settings = self._settings
        if settings.mail_delivery == "mailbox":
            return MAILBOX_REPLY
        email = email_of(message, settings, self._services.clock.now())
        _errors, reply = await aiosmtplib.send(
            email,
            sender=settings.mail_sender[1],
            recipients=[message.address],
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            use_tls=settings.smtp_security == "tls",
            start_tls=settings.smtp_security == "starttls",
            timeout=settings.smtp_timeout,
        )
        return reply

    async def _send_one(self, message: Claimed) -> bool:
        try:
            reply = await self.deliver(message)
        except Exception as exc:
            await self._record_failure(message, exc)
            return False
        await self._record_sent(message, reply)
        return True

    async def _record_sent(self, message: Claimed, reply: str) -> None:
        async with unit_of_work(self._services, _SYSTEM) as uow:
            await uow.session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == message.id,
                    OutboxMessage.status == Status.SENDING.value,
                )
                .values(
                    status=Status.SENT.value,
                    sent_at=uow.now,
                    claimed_until=None,
                    provider_reply=reply[:500],
                    last_error=None,
                )
                .execution_options(synchronize_session=False)
            )
            uow.audit(self._record("message.send", message, "success"))

    async def _record_failure(self, message: Claimed, exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}"[:500]
        final = refused_for_good(exc) or gives_up(
            message.attempts, self._settings.mail_max_attempts
        )
        async with unit_of_work(self._services, _SYSTEM) as uow:
            await uow.session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == message.id,
                    OutboxMessage.status == Status.SENDING.value,
                )
                .values(
                    status=Status.FAILED.value if final else Status.PENDING.value,
                    next_attempt_at=uow.now
                    + (
                        timedelta(0)
                        if final
                        else backoff(message.attempts, self._settings.mail_retry)
                    ),
                    claimed_until=None,
                    last_error=error,
                )
                .execution_options(synchronize_session=False)
            )
            uow.audit(self._record("message.send", message, "failure", error=error, final=final))
        if final:
            log.error(
                "message %s failed for good after %d tries: %s", message.id, message.attempts, error
            )
        else:
            log.warning("message %s not sent (try %d): %s", message.id, message.attempts, error)

    @staticmethod
    def _record(action: str, message: Claimed, outcome: str, **details: object) -> AuditRecord:
        return AuditRecord(
            action,
            "outbox_message",
            outcome=outcome,
            resource_id=str(message.id),
            patient_id=message.person_id,
            details={
                "kind": message.kind,
                "channel": message.channel,
                "attempt": message.attempts,
                **details,
            },
        )

    async def _wait_seconds(self) -> float:
        interval = self._settings.mail_poll_interval
        due = await self.next_due()
        if due is None:
            return interval
        # Never less than the gathering pause: a row another instance is claiming right now
        # still looks due, and must not spin this loop.
        until_due = (due - self._services.clock.now()).total_seconds()
        return min(interval, max(until_due, _GATHER_SECONDS))

    async def _loop(self) -> None:
        wait = 0.0
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
                await asyncio.sleep(_GATHER_SECONDS)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                await self.dispatch_due()
                wait = await self._wait_seconds()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if unavailable(exc):
                    log.debug("messages wait for the database: %s", type(exc).__name__)
                else:
                    log.exception(
                        "message dispatch failed; retrying in %s s", _FAILURE_PAUSE_SECONDS
                    )
                wait = _FAILURE_PAUSE_SECONDS

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Send in the background while the context is open."""
        if self._settings.is_production and self._settings.mail_delivery == "mailbox":
            log.warning(
                "MAIL_DELIVERY=mailbox: messages to patients are kept in the outbox, not sent"
            )
        task = asyncio.create_task(self._loop(), name="message-dispatcher")
        try:
            yield
        finally:
            # Asked, not cancelled: a pass cancelled inside its transaction could leave SQLite's
            # write lock held. A send under way finishes (bounded by SMTP_TIMEOUT_SECONDS); what
            # is left waits in the outbox for the next instance.
            self._stopping.set()
            self._wake.set()
            started = time.monotonic()
            await close_within(
                "stopping the message dispatcher", task, seconds=self._settings.smtp_timeout + 10
            )
            log.debug("message dispatcher stopped in %.1f s", time.monotonic() - started)


DISPATCHER = web.AppKey("message_dispatcher", Dispatcher)
