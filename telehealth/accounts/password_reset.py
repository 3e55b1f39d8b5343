"""A person who forgot their password sets a new one through a single-use link sent by email.

Asking (`request_reset`) answers nothing: the page says the same words whether or not an account
has the address, is active, or was sent a link already, and the work is alike (both count the
request under the address's and the client's reset throttles in one short transaction; only an
account's own link adds two small rows). An active account under its limits gets a link: its
token (only the hash is stored) and the email carrying it are written in the same unit of work,
so a link exists exactly when its email does, and a newer link withdraws the email of an older
one that has not left yet. Those two rows take a few milliseconds more; so that the time of the
answer does not tell them apart either, every request is answered no sooner than
`ANSWER_FLOOR` after it began.

Spending a link (`reset_password`) takes three steps, as the password change does, so the slow
argon2 hashing never holds the database:

1. A short read finds the link's account and applies the new-password policy.
2. The new password is hashed outside any transaction.
3. One unit of work spends the link with a conditional UPDATE (only while unused and unexpired,
   so of two submissions at once exactly one wins), stores the hash, spends the account's other
   links, ends every session of the account and forgives its sign-in throttle. The caller then
   announces the ended access (`access_ended.announce_access_ended`) so live visit sockets close.

Trusted sign-in devices need no call: each remembers a stamp of the password it signed in with,
so a new password revokes them all (devices.py).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, func, select, update

from telehealth.accounts import rules, throttle
from telehealth.accounts.models import AuthSession, PasswordResetToken, Role, User
from telehealth.actors import Caller
from telehealth.audit.chain import AuditRecord
from telehealth.error_codes import ErrorCode
from telehealth.errors import DomainError, InvalidInput
from telehealth.notifications import outbox
from telehealth.notifications.compose import PasswordResetNotice, compose_password_reset
from telehealth.notifications.rules import Kind
from telehealth.tokens import hash_token, new_token
from telehealth.unit_of_work import Services, UnitOfWork, unit_of_work

# The least time an asking request takes, well above what writing a link takes on a busy
# machine (tens of milliseconds), so a known and an unknown address answer after the same time.
ANSWER_FLOOR = 0.2
REQUEST_ACTION = "account.password_reset_request"
RESET_ACTION = "account.password_reset"
FORGOT_PATH = "/password/forgot"
RESET_PATH = "/password/reset/"


class LinkState(StrEnum):
    """What a reset link is now."""

    LIVE = "live"
    USED = "used"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


_DEAD_WORDS = {
    LinkState.USED: "This link has already been used. Please ask for a new one.",
    LinkState.EXPIRED: "This link has run out. Please ask for a new one.",
    LinkState.UNKNOWN: "We do not know this link. Please ask for a new one.",
}


class LinkDead(DomainError):
    """The link was used, has expired, or never was one: there is nothing to set a password
    with (410 for a link that was, 404 for one that never was)."""

    status = 410
    code = ErrorCode.RESET_LINK_DEAD

    def __init__(self, state: LinkState) -> None:
        super().__init__(_DEAD_WORDS.get(state, "This link cannot be used."))
        self.state = state
        if state is LinkState.UNKNOWN:
            self.status = 404


@dataclass(frozen=True)
class PasswordReset:
    """The outcome of a reset: whose password, and how many of their sessions were ended."""

    user_id: uuid.UUID
    sessions_ended: int


def _record(action: str, user: User, outcome: str = "success", **details: object) -> AuditRecord:
    # Never a password, a hash or a token: only what happened.
    return AuditRecord(
        action,
        "user",
        outcome=outcome,
        resource_id=str(user.id),
        patient_id=user.id if user.role == Role.PATIENT.value else None,
        details=dict(details),
    )


# --- asking for a link ---------------------------------------------------------------------------


async def request_reset(services: Services, caller: Caller, email: str) -> None:
    """Send a reset link to the account with this address, if there is one that may have one
    now; answers the same in every case (the module's docstring)."""
    email = rules.normalize_email(email)  # 422 for text that cannot be an address at all
    answer_at = time.monotonic() + ANSWER_FLOOR
    try:
        await _request_reset(services, caller, email)
    except Exception:
        # A failure too (the database refusing): it must not answer sooner for one kind of
        # address than for another. A cancelled request is not held up.
        await asyncio.sleep(max(0.0, answer_at - time.monotonic()))
        raise
    await asyncio.sleep(max(0.0, answer_at - time.monotonic()))


async def _request_reset(services: Services, caller: Caller, email: str) -> None:
    window = rules.RESET_WINDOW
    async with unit_of_work(services, caller) as uow:
        # The client first: a client over its limit does not count against the account.
        from_client = await throttle.claim(
            uow.session,
            rules.reset_address_throttle_key(caller.ip),
            rules.RESET_REQUESTS_PER_ADDRESS,
            uow.now,
            window,
        )
        for_account = from_client and await throttle.claim(
            uow.session,
            rules.reset_account_throttle_key(email),
            rules.RESET_LINKS_PER_ACCOUNT,
            uow.now,
            window,
        )
        user = await uow.session.scalar(select(User).where(User.email == email))
        if user is None:
            return
        if not user.is_active:
            uow.audit(_record(REQUEST_ACTION, user, "denied", reason="inactive"))
        elif not for_account:
            uow.audit(_record(REQUEST_ACTION, user, "denied", reason="rate_limited"))
        else:
            await _send_link_in(uow, services, user)
            uow.audit(_record(REQUEST_ACTION, user))


async def _send_link_in(uow: UnitOfWork, services: Services, user: User) -> None:
    """Write a new link for `user` and the email that carries it, withdrawing older emails."""
    token = new_token()
    uow.session.add(
        PasswordResetToken(
            token_hash=hash_token(token),
            user_id=user.id,
            created_at=uow.now,
            expires_at=uow.now + rules.RESET_LINK_LIFETIME,
        )
    )
    await uow.session.flush()
    # The links written so far tell this message from an earlier one at the same instant (the
    # outbox writes a message of one kind, subject, version and moment once).
    links = await uow.session.scalar(
        select(func.count())
        .select_from(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id)
    )
    await outbox.withdraw_pending_to_person_in(uow, user.id, Kind.PASSWORD_RESET)
    settings = services.settings
    composed = compose_password_reset(
        PasswordResetNotice(
            clinic_name=settings.clinic_name,
            clinic_phone=settings.clinic_phone,
            person_name=user.display_name,
            reset_url=f"{settings.public_url}{RESET_PATH}{token}",
            minutes=int(rules.RESET_LINK_LIFETIME.total_seconds() // 60),
            forgot_url=f"{settings.public_url}{FORGOT_PATH}",
        )
    )
    # At once, without the grace of a visit's messages: the person is waiting for it.
    await outbox.queue_in(
        uow,
        services,
        outbox.NewMessage(
            kind=Kind.PASSWORD_RESET,
            person_id=user.id,
            address=user.email,
            subject=composed.subject,
            body_text=composed.text,
            body_html=composed.html,
            revision=int(links or 0),
        ),
        uow.now,
    )


# --- spending a link -----------------------------------------------------------------------------


def _state_of(link: PasswordResetToken | None, now: datetime) -> LinkState:
    if link is None:
        return LinkState.UNKNOWN
    if link.used_at is not None:
        return LinkState.USED
    return LinkState.LIVE if link.expires_at > now else LinkState.EXPIRED


async def link_state(services: Services, token: str) -> LinkState:
    """What a link is now (for the page that offers the form)."""
    if not rules.reset_token_shape_ok(token):
        return LinkState.UNKNOWN
    async with services.sessions.reading() as session:
        link = await session.get(PasswordResetToken, hash_token(token))
        return _state_of(link, services.clock.now())


async def reset_password(
    services: Services, caller: Caller, token: str, new_password: str
) -> PasswordReset:
    """Set a new password with a link and end every session of its account (steps at the top).

    Refusals: 404 for a link that never was, 410 for one used or expired (also when another
    submission of it won meanwhile), 422 for the new-password policy (the link stays usable).
    """
    if not rules.reset_token_shape_ok(token):
        raise LinkDead(LinkState.UNKNOWN)
    token_hash = hash_token(token)

    # 1. The link's account, and the policy. Nothing is spent yet.
    async with unit_of_work(services, caller) as uow:
        link = await uow.session.get(PasswordResetToken, token_hash)
        state = _state_of(link, uow.now)
        user = await uow.session.get(User, link.user_id) if link is not None else None
        if state is LinkState.LIVE and (user is None or not user.is_active):
            state = LinkState.USED  # an account closed since: the link opens nothing
        if state is not LinkState.LIVE or user is None:
            if user is not None:
                uow.audit(_record(RESET_ACTION, user, "denied", reason=state.value))
            raise LinkDead(state)
        problem = rules.password_problem(new_password, user.email)
        if problem is not None:
            uow.audit(_record(RESET_ACTION, user, "denied", reason="policy"))
            raise InvalidInput(problem, details=[{"field": "new_password", "problem": problem}])

        user_id = user.id

    new_hash = await services.passwords.hash(new_password)

    # 3. Spend the link and store the password, or find that another submission did.
    async with unit_of_work(services, caller) as uow:
        spent = await _spend(uow, token_hash)
        user = await uow.session.get(User, user_id)
        if user is None:
            raise LinkDead(LinkState.USED)  # the account itself is gone, and its links with it
        if not spent or not user.is_active:
            uow.audit(_record(RESET_ACTION, user, "denied", reason=LinkState.USED.value))
            # Raised inside the work: a link spent for a closed account is rolled back, and the
            # denial is still recorded.
            raise LinkDead(LinkState.USED)
        ended = await _store(uow, user, new_hash)
        uow.audit(_record(RESET_ACTION, user, sessions_ended=ended))
        return PasswordReset(user_id=user.id, sessions_ended=ended)


async def _spend(uow: UnitOfWork, token_hash: str) -> bool:
    """Mark the link used if it still may be; whether this call did."""
    spent = await uow.session.execute(
        update(PasswordResetToken)
        .where(
            PasswordResetToken.token_hash == token_hash,
            PasswordResetToken.used_at.is_(None),
            PasswordResetToken.expires_at > uow.now,
        )
        .values(used_at=uow.now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(spent, "rowcount", 0))


async def _store(uow: UnitOfWork, user: User, new_hash: str) -> int:
    """Write the new hash, spend the account's other links, end its sessions and forgive its
    sign-in count; how many sessions were ended."""
    await uow.session.execute(
        update(User)
        .where(User.id == user.id)
        .values(password_hash=new_hash, updated_at=uow.now)
        .execution_options(synchronize_session=False)
    )
    # Every earlier link dies with the password it was sent to replace, and its email too if it
    # has not left yet.
    await uow.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=uow.now)
        .execution_options(synchronize_session=False)
    )
    await outbox.withdraw_pending_to_person_in(uow, user.id, Kind.PASSWORD_RESET)
    # The person has proven they hold the mailbox: the lock a guesser may have caused is lifted.
    await throttle.reset(uow.session, rules.account_throttle_key(user.email))
    ended = await uow.session.execute(
        delete(AuthSession)
        .where(AuthSession.user_id == user.id)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(ended, "rowcount", 0) or 0)
