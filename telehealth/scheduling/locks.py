"""Calendar locks: one per person whose time a write takes, always in the same order.

A booking, a series and a reschedule take the calendar lock of their therapist and of their patient
at the start of the write, before the rules read who is busy. Any two writes that could collide
(same therapist, or same patient) share a lock, so the second waits for the first to commit, then
reads its row and answers 409 from the rules. Without it both inserted, and PostgreSQL's exclusion
constraint made each wait for the other (a deadlock, found a second later and retried, which under
a burst stalled every pooled connection).

PostgreSQL: transaction-level advisory locks (released by commit or rollback), in ascending key
order so that two writes needing the same two locks queue instead of holding one each. SQLite:
BEGIN IMMEDIATE already serializes every writer, so there is nothing to take.

The whole lock order of a transaction is in docs/architecture.md.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Namespace of the two-integer advisory locks: distinct from the login throttle's (7305) and from
# the audit chain's one-integer lock, which live in other lock spaces.
_CALENDAR_LOCK_SPACE = 7306


def calendar_key(person: uuid.UUID) -> int:
    """The 32-bit advisory key of a person's calendar (a shared key only means extra waiting)."""
    return int.from_bytes(person.bytes[:4], "big", signed=True)


async def lock_calendars(session: AsyncSession, *people: uuid.UUID) -> None:
    """Take the calendar locks of these people for the rest of the transaction, in key order."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted({calendar_key(person) for person in people}):
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:space, :key)"),
            {"space": _CALENDAR_LOCK_SPACE, "key": key},
        )
