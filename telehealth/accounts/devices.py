"""Trusted sign-in devices (OWASP "device cookies"): a browser that signed in to an account before
keeps trying under its own throttle, so a stranger who locks the account out does not lock its
owner out.

The cookie holds a random 256-bit token; only its SHA-256 is stored, with the account and a stamp
of the password it signed in with. A device counts only for that account, before it expires, while
the account is active and its password is unchanged: a new password, deactivation or expiry
revokes it.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth.accounts.models import LoginDevice, User
from telehealth.tokens import hash_token, new_token


def password_stamp(password_hash: str) -> str:
    """What a device remembers of the password it signed in with (never the hash itself)."""
    return hashlib.sha256(b"login-device\x00" + password_hash.encode()).hexdigest()


async def trusted(
    session: AsyncSession, token: str | None, user: User | None, now: datetime
) -> str | None:
    """The stored hash of the device behind token, when it is trusted for this user; else None."""
    if not token:
        return None
    # Looked up whatever the email, so an unknown one costs the same query as a known one.
    device = await session.scalar(
        select(LoginDevice).where(
            LoginDevice.token_hash == hash_token(token), LoginDevice.expires_at > now
        )
    )
    if device is None or user is None or not user.is_active or device.user_id != user.id:
        return None
    if device.password_stamp != password_stamp(user.password_hash):
        return None  # the password changed since this device signed in
    return device.token_hash


async def issue(
    session: AsyncSession,
    user: User,
    now: datetime,
    lifetime: timedelta,
    presented: str | None,
) -> str:
    """A new device token for user (the raw token goes to the browser once).

    The token the browser presented, whoever it was for, is retired: its cookie is overwritten.
    The user's expired devices go with it.
    """
    stale = and_(LoginDevice.user_id == user.id, LoginDevice.expires_at <= now)
    condition = or_(stale, LoginDevice.token_hash == hash_token(presented)) if presented else stale
    await session.execute(
        delete(LoginDevice).where(condition).execution_options(synchronize_session=False)
    )
    token = new_token()
    session.add(
        LoginDevice(
            token_hash=hash_token(token),
            user_id=user.id,
            password_stamp=password_stamp(user.password_hash),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    return token


async def restamp(session: AsyncSession, user_id: uuid.UUID, old_hash: str, new_hash: str) -> None:
    """Keep a user's devices when the same password is only re-hashed with new parameters."""
    await session.execute(
        update(LoginDevice)
        .where(
            LoginDevice.user_id == user_id,
            LoginDevice.password_stamp == password_stamp(old_hash),
        )
        .values(password_stamp=password_stamp(new_hash))
        .execution_options(synchronize_session=False)
    )


async def revoke_all(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Forget every device of a user (deactivation; a changed password needs no call)."""
    await session.execute(
        delete(LoginDevice)
        .where(LoginDevice.user_id == user_id)
        .execution_options(synchronize_session=False)
    )
