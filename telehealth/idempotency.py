"""Requests that are safe to send twice: the first answer to an Idempotency-Key is stored with the
work it answers, in the same transaction, and replayed for every retry of the same request.

Any write a client may retry (a booking over a flaky phone connection, a double-clicked form)
runs through `run_once`. The key belongs to the signed-in person; the same key with a different
request is refused (422), and a retry that arrives while the first is still running waits for it
(its claim row's primary key on PostgreSQL, the write lock on SQLite) and then gets its answer.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from telehealth.actors import Caller
from telehealth.error_codes import ErrorCode
from telehealth.errors import Conflict, InvalidInput
from telehealth.orm import Base
from telehealth.unit_of_work import Services, UnitOfWork, unit_of_work


class IdempotentRequest(Base):
    """The first answer to a request sent with an Idempotency-Key, replayed for retries."""

    __tablename__ = "idempotent_requests"

    actor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]


@dataclass(frozen=True)
class Idempotency:
    """An Idempotency-Key and the fingerprint of the request it came with."""

    key: str
    fingerprint: str


def fingerprint(operation: str, payload: dict[str, Any]) -> str:
    """SHA-256 of an operation and its canonical JSON body: equal requests, equal prints."""
    encoded = json.dumps([operation, payload], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


@dataclass(frozen=True)
class Answer:
    """A stored or fresh API answer: status and JSON body."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


class IdempotencyMismatch(InvalidInput):
    """The key was used before with a different request."""

    code = ErrorCode.IDEMPOTENCY_KEY_REUSED


async def run_once(
    services: Services,
    caller: Caller,
    idempotency: Idempotency | None,
    work: Callable[[UnitOfWork], Awaitable[Answer]],
) -> Answer:
    """Run `work` in one unit of work, once per key: its answer is stored with what it wrote, and
    a retry of the same request gets that answer back (`replayed`) without running it again.

    Without a key the work simply runs. Wrap this in `retrying` where the work can meet a
    deadlock: a rolled-back attempt stored no answer, so the next attempt claims the key anew.
    """
    async with unit_of_work(services, caller) as uow:
        if idempotency is None:
            return await work(uow)
        stored = await _stored_answer(uow.session, uow.actor.id, idempotency)
        if stored is not None:
            return stored
        try:
            claim = await _claim(uow, idempotency)
        except IntegrityError:
            # A concurrent duplicate claimed it first; the failed flush spoiled this transaction,
            # so end it empty and read the winner's answer in a fresh one.
            await uow.session.rollback()
            claim = None
        if claim is not None:
            answer = await work(uow)
            claim.status = answer.status
            claim.body = answer.body
            return answer
    async with unit_of_work(services, caller) as uow:
        stored = await _stored_answer(uow.session, uow.actor.id, idempotency)
        if stored is None:
            raise Conflict(
                "The same request is being processed; please retry.", code=ErrorCode.IN_PROGRESS
            )
        return stored


async def _stored_answer(
    session: AsyncSession, actor_id: uuid.UUID, idempotency: Idempotency
) -> Answer | None:
    stored = await session.get(IdempotentRequest, (actor_id, idempotency.key))
    if stored is None:
        return None
    if stored.fingerprint != idempotency.fingerprint:
        raise IdempotencyMismatch(
            "This Idempotency-Key was already used with a different request.",
            details={"header": "Idempotency-Key"},
        )
    return Answer(stored.status, stored.body, replayed=True)


async def _claim(uow: UnitOfWork, idempotency: Idempotency) -> IdempotentRequest:
    # Claimed before anything else is written: a concurrent duplicate waits on this primary key
    # (PostgreSQL) or on the write lock (SQLite) and then finds the stored answer instead of
    # colliding with our work.
    row = IdempotentRequest(
        actor_id=uow.actor.id,
        key=idempotency.key,
        fingerprint=idempotency.fingerprint,
        status=0,
        body={},
        created_at=uow.now,
    )
    uow.session.add(row)
    await uow.session.flush()
    return row
