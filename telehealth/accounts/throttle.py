"""The login throttle's queries: each attempt is counted, before its password is checked, by one
atomic statement per key (`rules.claim_attempt` written as an upsert).

The upsert only updates a row while its key may still try, and answers the new count. PostgreSQL
makes parallel upserts of one key wait on the row and re-check the condition on the latest row;
SQLite's BEGIN IMMEDIATE runs them one by one. Either way no attempt is lost and none slips past
the limit, whatever the parallelism. Core statements, not loaded ORM objects: there is nothing
to go stale between reading and writing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, literal, null, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.accounts import rules
from telehealth.accounts.models import LoginThrottle
from telehealth.orm import UTCDateTime


@dataclass(frozen=True)
class Claimed:
    """An attempt counted under one key; the window identifies it for a later refund."""

    key: str
    failures: int
    window_started_at: datetime


def _at(when: datetime) -> object:
    # Typed so SQLite stores it in the same text form as the column's own values.
    return literal(when, UTCDateTime())


async def claim(
    session: AsyncSession, key: str, limit: int, now: datetime, window: timedelta
) -> Claimed | None:
    """Count one attempt under key; None (and nothing written) when the key may not try now."""
    fresh = LoginThrottle.window_started_at <= now - window
    count = case((fresh, 1), else_=LoginThrottle.failures + 1)
    may_try = and_(
        or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now),
        or_(fresh, LoginThrottle.failures < limit),
    )
    changes = {
        "failures": count,
        "window_started_at": case((fresh, _at(now)), else_=LoginThrottle.window_started_at),
        "locked_until": case(
            (count >= limit, _at(now + window)),
            (fresh, null()),
            else_=LoginThrottle.locked_until,
        ),
    }
    first = {
        "key": key,
        "failures": 1,
        "window_started_at": now,
        "locked_until": now + window if limit <= 1 else None,
    }
    answer = (LoginThrottle.failures, LoginThrottle.window_started_at)
    if session.get_bind().dialect.name == "postgresql":
        pg = postgresql.insert(LoginThrottle).values(first)
        statement = pg.on_conflict_do_update(
            index_elements=[LoginThrottle.key], set_=changes, where=may_try
        ).returning(*answer)
    else:
        lite = sqlite.insert(LoginThrottle).values(first)
        statement = lite.on_conflict_do_update(
            index_elements=[LoginThrottle.key], set_=changes, where=may_try
        ).returning(*answer)
    row = (await session.execute(statement)).first()
    if row is None:
        return None
    return Claimed(key, row[0], row[1])


async def state_of(session: AsyncSession, key: str) -> rules.ThrottleState | None:
    """The stored count of one key (to tell a refused client how long to wait)."""
    row = (
        await session.execute(
            select(
                LoginThrottle.failures, LoginThrottle.window_started_at, LoginThrottle.locked_until
            ).where(LoginThrottle.key == key)
        )
    ).first()
    return None if row is None else rules.ThrottleState(row[0], row[1], row[2])


async def reset(session: AsyncSession, key: str) -> None:
    """Forget a key's count (a right password for the account)."""
    await session.execute(
        delete(LoginThrottle)
        .where(LoginThrottle.key == key)
        .execution_options(synchronize_session=False)
    )


async def refund(session: AsyncSession, claimed: Claimed, limit: int) -> None:
    """Give back one counted attempt (`rules.refund_attempt`), if its window is still the current one."""
    await session.execute(
        update(LoginThrottle)
        .where(
            LoginThrottle.key == claimed.key,
            LoginThrottle.window_started_at == claimed.window_started_at,
            LoginThrottle.failures > 0,
        )
        .values(
            failures=LoginThrottle.failures - 1,
            locked_until=case(
                (LoginThrottle.failures - 1 >= limit, LoginThrottle.locked_until), else_=null()
            ),
        )
        .execution_options(synchronize_session=False)
    )
