"""Work that only reads (`unit_of_work(..., reads_only=True)`): its audit records are kept, on
failure as well; it may not change data; on SQLite it does not wait for the writers' turn."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select

from telehealth.accounts.models import Role, User
from telehealth.accounts.service import actor_of
from telehealth.actors import Caller
from telehealth.audit.chain import AuditRecord
from telehealth.audit.models import AuditEvent
from telehealth.errors import NotFound
from telehealth.unit_of_work import Services, unit_of_work
from tests.conftest import People


async def caller_for(people: People) -> Caller:
    person = await people.make(Role.PATIENT, "Maria Lopez")
    return Caller(actor=actor_of(person.user), ip="127.0.0.1", request_id=uuid.uuid4().hex)


async def actions(services: Services, request_id: str | None) -> list[tuple[str, str]]:
    async with services.sessions.reading() as session:
        rows = await session.execute(
            select(AuditEvent.action, AuditEvent.outcome)
            .where(AuditEvent.request_id == request_id)
            .order_by(AuditEvent.seq)
        )
        return [(a, o) for a, o in rows.all()]


async def test_its_audit_records_are_kept_and_its_objects_stay_readable(
    services: Services, people: People
) -> None:
    caller = await caller_for(people)
    async with unit_of_work(services, caller, reads_only=True) as uow:
        me = await uow.session.get(User, uow.actor.id)
        uow.audit(AuditRecord("patient.read", "patient", patient_id=uow.actor.id))
    assert me is not None and me.display_name == "Maria Lopez"  # after the session closed
    assert await actions(services, caller.request_id) == [("patient.read", "success")]


async def test_a_refusal_inside_it_is_audited_and_raised(
    services: Services, people: People
) -> None:
    caller = await caller_for(people)

    async def missing() -> None:
        raise NotFound("No such patient.")

    with pytest.raises(NotFound):
        async with unit_of_work(services, caller, reads_only=True) as uow:
            await uow.guarded(missing(), "patient.read", "patient", str(uuid.uuid4()))
    assert await actions(services, caller.request_id) == [("patient.read", "denied")]


async def test_it_may_not_change_data(services: Services, people: People) -> None:
    caller = await caller_for(people)
    with pytest.raises(RuntimeError, match="reads_only"):
        async with unit_of_work(services, caller, reads_only=True) as uow:
            me = await uow.session.get(User, uow.actor.id)
            assert me is not None
            me.display_name = "Someone Else"
            uow.audit(AuditRecord("patient.read", "patient", patient_id=uow.actor.id))
    async with services.sessions.reading() as session:
        stored = await session.get(User, caller.require_actor().id)
        assert stored is not None and stored.display_name == "Maria Lopez"
    # Still audited, as a failure: the read happened.
    assert await actions(services, caller.request_id) == [("patient.read", "failure")]


async def test_it_reads_while_a_writer_holds_its_transaction_open(
    services: Services, people: People
) -> None:
    # SQLite: the writer holds this process's turn and the write lock; the reader takes
    # neither. PostgreSQL: readers never wait for writers of other rows.
    caller = await caller_for(people)
    async with services.sessions() as writer:
        writer.add(
            User(
                id=uuid.uuid4(),
                email=f"held-{uuid.uuid4().hex[:6]}@example.test",
                display_name="Held",
                role=Role.PATIENT.value,
                password_hash="x",
                time_zone="UTC",
                is_active=True,
                created_at=services.clock.now(),
                updated_at=services.clock.now(),
            )
        )
        await writer.flush()  # the write lock (SQLite) or the new row's lock is held
        async with asyncio.timeout(2), unit_of_work(services, caller, reads_only=True) as uow:
            me = await uow.session.get(User, uow.actor.id)
        assert me is not None
        await writer.rollback()
