"""One transaction per service call, which also appends that call's audit records.

A service records what it read or wrote with uow.audit(...). On success the records are appended to
the chain just before commit, atomically with the data. On failure the data is rolled back, but the
records are still appended in a transaction of their own (a refused access is itself an audit fact),
with "success" outcomes turned into "failure".
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from telehealth.accounts.passwords import Passwords
from telehealth.actors import Actor, Caller
from telehealth.audit import trail
from telehealth.audit.chain import AuditRecord
from telehealth.clock import Clock
from telehealth.config import Settings
from telehealth.errors import DomainError, NotFound

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    """What every service function needs from the running application."""

    settings: Settings
    clock: Clock
    sessions: async_sessionmaker[AsyncSession]
    passwords: Passwords


T = TypeVar("T")


@dataclass
class UnitOfWork:
    """The open transaction of one service call."""

    session: AsyncSession
    caller: Caller
    now: datetime
    records: list[AuditRecord] = field(default_factory=list)

    @property
    def actor(self) -> Actor:
        """The signed-in actor (raises NotAuthenticated when there is none)."""
        return self.caller.require_actor()

    def audit(self, record: AuditRecord) -> None:
        """Record an audited action of this call."""
        self.records.append(record)

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
async def unit_of_work(services: Services, caller: Caller) -> AsyncIterator[UnitOfWork]:
    """Open a transaction; commit it with its audit records, or roll back and keep the records."""
    now = services.clock.now()
    async with services.sessions() as session:
        uow = UnitOfWork(session=session, caller=caller, now=now)
        try:
            yield uow
            # uow.caller, not caller: sign-in replaces the anonymous caller with the new actor.
            await trail.append(session, uow.records, _origin(uow.caller), now)
            await session.commit()
        except Exception as exc:
            await session.rollback()
            if uow.records:
                await _append_after_failure(services, uow.caller, uow.records, now, exc)
            raise


async def _append_after_failure(
    services: Services, caller: Caller, records: list[AuditRecord], now: datetime, exc: Exception
) -> None:
    code = exc.code if isinstance(exc, DomainError) else type(exc).__name__
    failed = [
        replace(r, outcome="failure", details={**r.details, "error": code})
        if r.outcome == "success"
        else r
        for r in records
    ]
    try:
        async with services.sessions() as session:
            await trail.append(session, failed, _origin(caller), now)
            await session.commit()
    except Exception:
        # The original error is what the caller must see; this one goes to the log.
        log.exception("could not append audit records after a failed transaction")
