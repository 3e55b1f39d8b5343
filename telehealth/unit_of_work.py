"""One transaction per service call, which also appends that call's audit records.

A service records what it read or wrote with uow.audit(...). On success the records are stored as
audit events just before commit, atomically with the data, and the audit sealer is woken to link
them into the chain after the commit (no request waits for the chain). On failure the data is
rolled back, but the records are still stored in a transaction of their own (a refused access is
itself an audit fact), with "success" outcomes turned into "failure".

A database that cannot be reached or does not answer in time raises DatabaseUnavailable (503): the
connection is dropped rather than rolled back (a rollback would wait as long again), and a unit of
work older than DB_POOL_TIMEOUT_SECONDS + DB_STATEMENT_TIMEOUT_SECONDS is rolled back instead of
committed, so no write lands after its client was told it failed (or gave up waiting that long).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import NoReturn, TypeVar

from sqlalchemy import Executable
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.actors import Actor, Caller
from telehealth.audit import trail
from telehealth.audit.chain import AuditRecord
from telehealth.clock import Clock
from telehealth.config import Settings
from telehealth.db import SessionFactory
from telehealth.db_failures import RETRY_AFTER_SECONDS, retryable, unavailable
from telehealth.error_codes import ErrorCode
from telehealth.errors import Conflict, DatabaseUnavailable, DomainError, NotFound
from telehealth.passwords import Passwords

log = logging.getLogger(__name__)


def _no_sealer() -> None:
    """Where no sealer runs in this process (tools, tests): events wait for the next pass."""


def _nobody_listens(_therapist_ids: frozenset[uuid.UUID]) -> None:
    """Where no agenda can be open (tools, tests of services alone)."""


def _no_dispatcher() -> None:
    """Where no dispatcher runs in this process (tools): messages wait for an instance's poll."""


@dataclass(frozen=True)
class PlannedVisit:
    """A visit a patient is about to book or move into, of a type booked only within a plan of
    care: the plan-of-care feature decides whether it fits (scheduling cannot import it without
    an import cycle, so the kernel carries the question and the app wires the answer)."""

    patient_id: uuid.UUID
    type_name: str
    start: datetime
    moving: uuid.UUID | None = None


async def _no_plan_rules(_uow: UnitOfWork, _visit: PlannedVisit) -> None:
    """Where no plan-of-care feature is wired (tools, services alone): nothing to check."""


@dataclass(frozen=True)
class SigningNote:
    """A billable daily note about to be signed: the plan of care may require a progress report
    first (the notes feature asks; the plan-of-care feature, which imports notes, answers)."""

    patient_id: uuid.UUID
    appointment_id: uuid.UUID


async def _no_note_rules(_uow: UnitOfWork, _note: SigningNote) -> None:
    """Where no plan-of-care feature is wired: nothing to check."""


@dataclass(frozen=True)
class Services:
    """What every service function needs from the running application."""

    settings: Settings
    clock: Clock
    sessions: SessionFactory
    passwords: Passwords
    # Called after a commit that recorded audit events: wakes this process's sealer.
    audit_recorded: Callable[[], None] = _no_sealer
    # Called after a commit that changed therapists' calendars: wakes their open agendas.
    calendars_changed: Callable[[frozenset[uuid.UUID]], None] = _nobody_listens
    # Called after a commit that wrote outbox messages: wakes this process's dispatcher.
    messages_queued: Callable[[], None] = _no_dispatcher
    # Asked inside the booking's unit of work; raises a DomainError when the visit does not fit
    # the patient's plan of care.
    plan_rules: Callable[[UnitOfWork, PlannedVisit], Awaitable[None]] = _no_plan_rules
    # Asked before a billable daily note is signed; raises when a progress report is due first.
    note_rules: Callable[[UnitOfWork, SigningNote], Awaitable[None]] = _no_note_rules


T = TypeVar("T")


@dataclass
class UnitOfWork:
    """The open transaction of one service call."""

    session: AsyncSession
    caller: Caller
    now: datetime
    records: list[AuditRecord] = field(default_factory=list)
    # Set for reading work on SQLite: its bookkeeping waits for the write turn of its records.
    writes_later: bool = False
    # Every bookkeeping statement, run or waiting: work that fails runs them after its rollback.
    bookkept: list[Executable] = field(default_factory=list)
    # Therapists whose calendars this work changed, announced only once it has committed.
    changed_calendars: set[uuid.UUID] = field(default_factory=set)
    # Called once this work has committed (not when it fails): wake-ups of background workers
    # that the work gave something to do.
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    @property
    def actor(self) -> Actor:
        """The signed-in actor (raises NotAuthenticated when there is none)."""
        return self.caller.require_actor()

    def audit(self, record: AuditRecord) -> None:
        """Record an audited action of this call."""
        self.records.append(record)

    def calendar_changed(self, therapist_id: uuid.UUID) -> None:
        """This work changes a therapist's calendar: their open agendas hear of it after the
        commit (never before, and not at all if the work fails)."""
        self.changed_calendars.add(therapist_id)

    async def bookkeeping(self, statement: Executable) -> None:
        """A small write about the request itself (a session's last-seen, an ended session's row)
        that reading work may make too: it runs now, in this transaction, except in reading work
        on SQLite, where it waits for the short write turn that stores the audit records. It
        is kept either way: work that fails runs it again in the turn that stores its failure
        records, so an ended session's row still goes when the page then refuses."""
        self.bookkept.append(statement)
        if not self.writes_later:
            await self.session.execute(statement)

    async def guarded(
        self, fetch: Awaitable[T], action: str, resource_type: str, resource_id: str
    ) -> T:
        """Await an access-checked fetch; a refusal (NotFound) is itself audited as denied
        before the 404 goes out."""
        try:
            return await fetch
        except NotFound:
            self.audit(
                AuditRecord(action, resource_type, outcome="denied", resource_id=resource_id)
            )
            raise


def _origin(caller: Caller) -> trail.Origin:
    actor = caller.actor
    return trail.Origin(
        actor_id=actor.id if actor else None,
        actor_role=actor.role.value if actor else None,
        ip=caller.ip,
        request_id=caller.request_id,
    )


@asynccontextmanager
async def unit_of_work(
    services: Services, caller: Caller, *, reads_only: bool = False
) -> AsyncIterator[UnitOfWork]:
    """Open a transaction; commit it with its audit records, or roll back and keep the records.

    `reads_only` promises that the work changes no data (it may still record audit events). On
    SQLite such work then reads a snapshot without waiting for writers, and its audit records
    take a short turn to write afterwards; on PostgreSQL it is an ordinary unit of work.
    """
    if reads_only and services.sessions.queues_writers:
        async with _reading(services, caller) as uow:
            yield uow
        return
    now = services.clock.now()
    # Real time, not the injectable clock: the bound is about how long the client has waited.
    started = time.monotonic()
    failed: Exception | None = None
    async with services.sessions() as session:
        uow = UnitOfWork(session=session, caller=caller, now=now)
        try:
            yield uow
            if reads_only:
                _check_unchanged(session)
            # uow.caller, not caller: sign-in replaces the anonymous caller with the new actor.
            await trail.append(session, uow.records, _origin(uow.caller), services.clock.now)
            if time.monotonic() - started > _bound(services.settings):
                raise DatabaseUnavailable(
                    "The database is answering too slowly; nothing was saved. Please try again.",
                    retry_after=RETRY_AFTER_SECONDS,
                )
            await session.commit()
        except Exception as exc:
            await _end_failed(session, exc)
            failed = exc
    if failed is None:
        if uow.records:
            services.audit_recorded()
        if uow.changed_calendars:
            services.calendars_changed(frozenset(uow.changed_calendars))
        for wake in dict.fromkeys(uow.after_commit):
            wake()
        return
    # After the session has closed: on SQLite the failure's own audit transaction takes the next
    # turn to write, which this one held until now.
    await _raise_failure(services, uow, failed)


async def _raise_failure(services: Services, uow: UnitOfWork, failed: Exception) -> NoReturn:
    """Keep the failed work's audit records (as failures), then raise what failed: a database
    outage as DatabaseUnavailable."""
    if (uow.records or uow.bookkept) and not (
        isinstance(failed, DatabaseUnavailable) or unavailable(failed)
    ):
        await _append_after_failure(services, uow.caller, uow.records, uow.bookkept, failed)
    if unavailable(failed):
        raise _unavailable() from failed
    raise failed


def _check_unchanged(session: AsyncSession) -> None:
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a unit of work opened with reads_only changed data")


@asynccontextmanager
async def _reading(services: Services, caller: Caller) -> AsyncIterator[UnitOfWork]:
    failed: Exception | None = None
    async with plain_session(services, reading=True) as session:
        uow = UnitOfWork(
            session=session, caller=caller, now=services.clock.now(), writes_later=True
        )
        try:
            yield uow
            _check_unchanged(session)
        except Exception as exc:
            failed = exc
        # On success the session just closes: its connection goes back to the pool, which ends
        # the snapshot, and the loaded objects stay readable (a rollback would expire them).
        if failed is not None:
            await _end_failed(session, failed)
    if failed is None:
        if uow.records or uow.bookkept:
            await _append_records(services, uow.caller, uow.records, uow.bookkept)
        return
    await _raise_failure(services, uow, failed)


@asynccontextmanager
async def plain_session(
    services: Services, *, reading: bool = False
) -> AsyncIterator[AsyncSession]:
    """A session with no audit records of its own: reading work's snapshot (`reading`: it never
    waits for writers) and the short write turn that stores its records and bookkeeping after.

    A database outage raises DatabaseUnavailable, as it does in a unit of work.
    """
    async with services.sessions.reading() if reading else services.sessions() as session:
        try:
            yield session
        except Exception as exc:
            if not unavailable(exc):
                raise
            await session.invalidate()
            raise _unavailable() from exc


def _bound(settings: Settings) -> float:
    # Waiting for a connection, then at most one statement timeout's worth of work and lock waits.
    return settings.db_pool_timeout + settings.db_statement_timeout


def _unavailable() -> DatabaseUnavailable:
    return DatabaseUnavailable(
        "The clinic's database is not answering right now; nothing was saved. Please try again"
        " in a moment.",
        retry_after=RETRY_AFTER_SECONDS,
    )


async def _end_failed(session: AsyncSession, exc: Exception) -> None:
    if unavailable(exc):
        # Close the connection without a word: the server rolls back what it had, and a ROLLBACK
        # sent to a database that is not answering would wait as long again.
        await session.invalidate()
        return
    try:
        await session.rollback()
    except Exception as failed:
        if not unavailable(failed):
            raise
        await session.invalidate()
        raise _unavailable() from failed


async def retrying(work: Callable[[], Awaitable[T]], attempts: int = 4) -> T:
    """Run a unit of work again after a deadlock or serialization failure, a few times at most.

    The lock order makes these rare; a second run waits for (or sees) the transaction that won.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await work()
        except DBAPIError as exc:
            if not retryable(exc):
                raise
            if attempt == attempts:
                raise Conflict(
                    "Many people are changing the same schedule right now; please try again.",
                    code=ErrorCode.BUSY_RETRY,
                ) from None
    raise AssertionError("unreachable")


async def _append_records(
    services: Services,
    caller: Caller,
    records: list[AuditRecord],
    bookkept: list[Executable] | None = None,
) -> None:
    """Audit records, and reading work's bookkeeping, in a write of their own (work that only
    read, or work that failed)."""
    async with plain_session(services) as session:
        for statement in bookkept or ():
            await session.execute(statement)
        await trail.append(session, records, _origin(caller), services.clock.now)
        await session.commit()
    if records:
        services.audit_recorded()


async def _append_after_failure(
    services: Services,
    caller: Caller,
    records: list[AuditRecord],
    bookkept: list[Executable],
    exc: Exception,
) -> None:
    code = exc.code if isinstance(exc, DomainError) else type(exc).__name__
    failed = [
        replace(r, outcome="failure", details={**r.details, "error": code})
        if r.outcome == "success"
        else r
        for r in records
    ]
    try:
        await _append_records(services, caller, failed, bookkept)
    except Exception:
        # The original error is what the caller must see; this one goes to the log.
        log.exception("could not append audit records after a failed transaction")
