"""A signed-in person changes their own password.

Three steps, as sign-in takes them, so the argon2 work (tens of milliseconds each) never holds the
database and a wrong password's count outlives the refusal:

1. One short unit of work applies the new-password policy (`rules.password_problem`), then counts
   the attempt under the account's sign-in throttle key, before the current password is checked:
   a stolen session is no more a way to guess the password than the sign-in form is. A locked
   account is refused here, the right password included, as sign-in refuses it.
2. The current password is checked, and the new one hashed, outside any transaction.
3. One unit of work stores the new hash (only if the hash read in step 1 is still the stored one),
   forgives the account's count as a right sign-in does, ends every other session of the account
   and audits it. A wrong password is audited there instead and refused after the commit.

Trusted sign-in devices need no call: each remembers a stamp of the password it signed in with,
so a new password revokes them all (devices.py). The caller announces the ended access after the
commit (`access_ended.announce_access_ended`) so the live visit sockets close.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select, update

from telehealth.accounts import rules, throttle
from telehealth.accounts.models import AuthSession, Role, User
from telehealth.actors import Caller
from telehealth.audit.chain import AuditRecord
from telehealth.error_codes import ErrorCode
from telehealth.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotAuthenticated,
    TooManyRequests,
)
from telehealth.unit_of_work import Services, UnitOfWork, unit_of_work

ACTION = "account.password_change"
WRONG_CURRENT = "That is not your current password."
SAME_AS_CURRENT = "The new password must be different from your current password."


class CurrentPasswordWrong(DomainError):
    """The current password given to change it does not match (counted like a failed sign-in)."""

    status = 403
    code = ErrorCode.CURRENT_PASSWORD_WRONG


@dataclass(frozen=True)
class PasswordChanged:
    """The outcome of a change: how many other sessions of the account were ended."""

    user_id: uuid.UUID
    other_sessions_ended: int


def field_problem(field: str, problem: str) -> InvalidInput:
    """A 422 naming one field, in the shape the API's validation answers with."""
    return InvalidInput(problem, details=[{"field": field, "problem": problem}])


def _record(user: User, outcome: str = "success", **details: object) -> AuditRecord:
    # Never a password, a hash or a token: only what happened.
    return AuditRecord(
        ACTION,
        "user",
        outcome=outcome,
        resource_id=str(user.id),
        patient_id=user.id if user.role == Role.PATIENT.value else None,
        details=dict(details),
    )


async def _signed_in_user(uow: UnitOfWork) -> User:
    user = await uow.session.get(User, uow.actor.id)
    if user is None or not user.is_active:
        raise NotAuthenticated("Please sign in.")
    return user


def _locked_words(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    wait = "a minute" if minutes == 1 else f"{minutes} minutes"
    return (
        "Too many wrong passwords were tried for this account. "
        f"Please wait {wait} before trying again."
    )


async def _count_attempt(uow: UnitOfWork, services: Services, user: User) -> None:
    """Count one check of the current password under the account's sign-in key, or refuse it."""
    key = rules.account_throttle_key(user.email)
    window = services.settings.login_lockout
    limit = services.settings.login_max_failures
    if await throttle.claim(uow.session, key, limit, uow.now, window) is not None:
        return
    state = await throttle.state_of(uow.session, key)
    wait = rules.refused_for(state, uow.now, window) if state else 1
    uow.audit(_record(user, "denied", reason="locked", retry_after=wait))
    raise TooManyRequests(_locked_words(wait), retry_after=wait, code=ErrorCode.LOGIN_LOCKED)


async def change_password(
    services: Services,
    caller: Caller,
    keep_token_hash: str,
    current_password: str,
    new_password: str,
) -> PasswordChanged:
    """Change the signed-in person's password and end their other sessions (steps at the top).

    `keep_token_hash` is the session making the change; it stays signed in. Refusals: 422 for
    the policy or a new password equal to the current one (neither is counted), 429 while the
    account is locked, 403 for a wrong current password (counted), 409 when the password was
    changed meanwhile by another request.
    """
    # 1. Policy, then the count. Nothing here depends on the current password being right.
    async with unit_of_work(services, caller) as uow:
        user = await _signed_in_user(uow)
        problem = rules.password_problem(new_password, user.email)
        if problem is None and new_password == current_password:
            problem = SAME_AS_CURRENT
        if problem is not None:
            uow.audit(_record(user, "denied", reason="policy"))
            raise field_problem("new_password", problem)
        await _count_attempt(uow, services, user)
        stored_hash = user.password_hash

    verification = await services.passwords.verify(stored_hash, current_password)
    new_hash = await services.passwords.hash(new_password) if verification.ok else None

    # 3. Record the outcome; a wrong password needs no write (it was counted in step 1).
    ended = 0
    async with unit_of_work(services, caller) as uow:
        user = await _signed_in_user(uow)
        if new_hash is None:
            uow.audit(_record(user, "denied", reason="wrong_password"))
        else:
            ended = await _store(uow, user, stored_hash, new_hash, keep_token_hash)
            uow.audit(_record(user, other_sessions_ended=ended))
    if new_hash is None:
        # After the commit, so the audit row is kept.
        raise CurrentPasswordWrong(
            WRONG_CURRENT, details=[{"field": "current_password", "problem": WRONG_CURRENT}]
        )
    return PasswordChanged(user_id=user.id, other_sessions_ended=ended)


async def _store(
    uow: UnitOfWork, user: User, stored_hash: str, new_hash: str, keep_token_hash: str
) -> int:
    """Write the new hash and end the other sessions; how many were ended."""
    # The session making the change must still be live: "sign out everywhere" from another
    # device while the hash was computed ends this request's right to change anything.
    kept = await uow.session.scalar(
        select(AuthSession.token_hash).where(
            AuthSession.token_hash == keep_token_hash, AuthSession.user_id == user.id
        )
    )
    if kept is None:
        raise NotAuthenticated("Please sign in.")
    # Only over the hash the current password was checked against: two changes at once must not
    # both succeed, the second over a password it never proved.
    changed = await uow.session.execute(
        update(User)
        .where(User.id == user.id, User.password_hash == stored_hash)
        .values(password_hash=new_hash, updated_at=uow.now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(changed, "rowcount", 0):
        raise Conflict(
            "Your password was changed by another request a moment ago. Please try again."
        )
    await throttle.reset(uow.session, rules.account_throttle_key(user.email))
    ended = await uow.session.execute(
        delete(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.token_hash != keep_token_hash)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(ended, "rowcount", 0) or 0)
