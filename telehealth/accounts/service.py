"""Account services: sign-in, sessions, people and care teams. Each function is one transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import cache

from sqlalchemy import Select, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from telehealth import zones
from telehealth.accounts import devices, rules, throttle
from telehealth.accounts.access import (
    get_user_for_admin,
    get_visible_patient,
    patients_visible_to,
    require_admin,
)
from telehealth.accounts.models import AuthSession, CareAssignment, Role, User
from telehealth.actors import Actor, Caller
from telehealth.audit.chain import AuditRecord
from telehealth.error_codes import ErrorCode
from telehealth.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, TooManyRequests
from telehealth.tokens import hash_token, new_token
from telehealth.unit_of_work import Services, UnitOfWork, unit_of_work

INVALID_CREDENTIALS = "That email and password do not match an active account."


def actor_of(user: User) -> Actor:
    """The Actor view of a stored user."""
    return Actor(
        id=user.id,
        role=Role(user.role),
        display_name=user.display_name,
        email=user.email,
        time_zone=user.time_zone,
    )


@dataclass(frozen=True)
class SignedIn:
    """A fresh session: the raw token goes to the client once and is never stored."""

    token: str
    csrf_token: str
    actor: Actor
    device_token: str | None = None


@dataclass(frozen=True)
class CurrentSession:
    """A valid session resolved from a token."""

    actor: Actor
    csrf_token: str
    token_hash: str


# --- sign-in -------------------------------------------------------------------------------------

LOCKED = "Too many failed sign-in attempts. Please wait before trying again."


@dataclass(frozen=True)
class _Attempt:
    """The keys one sign-in attempt is counted under, with their limits."""

    keys: list[tuple[str, int]]
    device_hash: str | None


def _attempt_of(services: Services, email: str, ip: str, device_hash: str | None) -> _Attempt:
    settings = services.settings
    if device_hash is not None:
        # A browser that signed in before tries under its own count only: strangers failing on
        # the account or from the same address do not lock its owner out.
        return _Attempt(
            [(rules.device_throttle_key(device_hash), settings.login_max_failures)], device_hash
        )
    return _Attempt(
        [
            (rules.account_throttle_key(email), settings.login_max_failures),
            (rules.address_throttle_key(ip), settings.login_max_failures_per_address),
        ],
        None,
    )


async def _claim(uow: UnitOfWork, attempt: _Attempt, window: timedelta) -> list[throttle.Claimed]:
    # Counted before the password is checked, so at most the limit of passwords are ever checked
    # per window. Keys are claimed in a fixed order (account or device, then address), so two
    # attempts never wait on each other's rows in a cycle; a refusal rolls every claim back.
    claimed: list[throttle.Claimed] = []
    for key, limit in attempt.keys:
        got = await throttle.claim(uow.session, key, limit, uow.now, window)
        if got is None:
            state = await throttle.state_of(uow.session, key)
            wait = rules.refused_for(state, uow.now, window) if state else 1
            uow.audit(
                AuditRecord(
                    "login.blocked", "session", outcome="denied", details={"retry_after": wait}
                )
            )
            raise TooManyRequests(LOCKED, retry_after=wait, code=ErrorCode.LOGIN_LOCKED)
        claimed.append(got)
    return claimed


async def login(
    services: Services,
    caller: Caller,
    email: str,
    password: str,
    replaces_token_hash: str | None = None,
    device_token: str | None = None,
) -> SignedIn:
    """Check credentials under per-account and per-address throttles and open a new session.

    A session the browser already had (replaces_token_hash) is ended: every sign-in gets a new token.
    A trusted device token (see devices.py) is counted under its own key instead.
    """
    try:
        email = rules.normalize_email(email)
    except InvalidInput:
        email = email.strip().lower()[:254]
    settings = services.settings
    window = settings.login_lockout

    # 1. Count the attempt, or refuse it; look the account up. Short transaction: the password
    #    check below takes tens of milliseconds and must not hold the database. An unknown email
    #    is counted and checked like a known one, so neither answer nor timing tells them apart.
    async with unit_of_work(services, caller) as uow:
        user = await uow.session.scalar(select(User).where(User.email == email))
        device_hash = await devices.trusted(uow.session, device_token, user, uow.now)
        attempt = _attempt_of(services, email, caller.ip, device_hash)
        claimed = await _claim(uow, attempt, window)
        stored_hash = user.password_hash if user is not None and user.is_active else None
        user_id = user.id if user is not None else None

    verification = await services.passwords.verify(stored_hash, password)
    new_hash = await services.passwords.hash(password) if verification.needs_rehash else None

    # 2. Record the outcome. A wrong password needs no write: it was counted in step 1.
    signed_in: SignedIn | None = None
    async with unit_of_work(services, caller) as uow:
        user = await uow.session.get(User, user_id) if verification.ok else None
        if user is not None and user.is_active and user.password_hash == stored_hash:
            if new_hash is not None:
                await devices.restamp(uow.session, user.id, user.password_hash, new_hash)
                user.password_hash = new_hash
            await _forgive(uow, attempt, claimed)
            if replaces_token_hash is not None:
                await uow.session.execute(
                    delete(AuthSession).where(AuthSession.token_hash == replaces_token_hash)
                )
            signed_in = open_session(uow, user, services)
            device = await devices.issue(
                uow.session, user, uow.now, settings.login_device_lifetime, device_token
            )
            signed_in = replace(signed_in, device_token=device)
            uow.caller = replace(uow.caller, actor=signed_in.actor)
            uow.audit(
                AuditRecord(
                    "login.success",
                    "session",
                    resource_id=str(user.id),
                    details={"trusted_device": device_hash is not None},
                )
            )
        else:
            uow.audit(
                AuditRecord(
                    "login.failure",
                    "session",
                    outcome="denied",
                    resource_id=str(user_id) if user_id else None,
                    details={"trusted_device": device_hash is not None},
                )
            )
    if signed_in is None:
        # Raised after the commit so the audit row is kept; the same words for an unknown
        # email and a wrong password.
        raise NotAuthenticated(INVALID_CREDENTIALS, code=ErrorCode.INVALID_CREDENTIALS)
    return signed_in


async def _forgive(uow: UnitOfWork, attempt: _Attempt, claimed: list[throttle.Claimed]) -> None:
    # A right password resets its account's (or device's) count. The address only gets this
    # attempt's count back: a shared address is not paused by people signing in, yet signing in
    # to one's own account does not wipe the failures a guesser spread over other emails.
    first, *rest = claimed
    await throttle.reset(uow.session, first.key)
    for claim, (_, limit) in zip(rest, attempt.keys[1:], strict=True):
        await throttle.refund(uow.session, claim, limit)


def open_session(uow: UnitOfWork, user: User, services: Services) -> SignedIn:
    """A new session for a person whose identity was just proven (password, or a join link)."""
    # 256 bits of randomness; only the hash is stored.
    token = new_token()
    csrf_token = new_token()
    uow.session.add(
        AuthSession(
            token_hash=hash_token(token),
            user_id=user.id,
            csrf_token=csrf_token,
            created_at=uow.now,
            last_seen_at=uow.now,
            expires_at=uow.now + services.settings.session_absolute,
            ip=uow.caller.ip[:64],
            user_agent=uow.caller.user_agent[:256],
        )
    )
    return SignedIn(token=token, csrf_token=csrf_token, actor=actor_of(user))


@cache
def _session_lookup() -> Select[AuthSession, User]:
    # Every authenticated request runs it: built once, bound per request (composing it cost about
    # as much as running it).
    return (
        select(AuthSession, User)
        .join(User, User.id == AuthSession.user_id)
        .where(AuthSession.token_hash == bindparam("token_hash"))
    )


async def resolve_session_in(
    services: Services, uow: UnitOfWork, token: str
) -> CurrentSession | None:
    """The session behind a token, or None when unknown, expired or its person is deactivated,
    read in the request's own unit of work.

    Runs on every authenticated request, so it writes only when something changed: an ended
    session's row goes, and last-seen moves at most once per interval (`rules.needs_touch`).
    Both are bookkeeping, so a page that only reads stays reading work.
    """
    token_hash = hash_token(token)
    row = (await uow.session.execute(_session_lookup(), {"token_hash": token_hash})).first()
    if row is None:
        return None
    auth, user = row
    idle = services.settings.session_idle
    times = rules.SessionTimes(auth.created_at, auth.last_seen_at, auth.expires_at)
    if rules.session_expired(times, uow.now, idle) or not user.is_active:
        await uow.bookkeeping(delete(AuthSession).where(AuthSession.token_hash == token_hash))
        return None
    if rules.needs_touch(auth.last_seen_at, uow.now, idle):
        # Never backwards: a request that read the session earlier must not undo a later touch.
        await uow.bookkeeping(
            update(AuthSession)
            .where(AuthSession.token_hash == token_hash, AuthSession.last_seen_at < uow.now)
            .values(last_seen_at=uow.now)
        )
    return CurrentSession(actor=actor_of(user), csrf_token=auth.csrf_token, token_hash=token_hash)


async def logout(services: Services, caller: Caller, token_hash: str) -> None:
    """End one session."""
    async with unit_of_work(services, caller) as uow:
        await uow.session.execute(delete(AuthSession).where(AuthSession.token_hash == token_hash))
        uow.audit(AuditRecord("logout", "session", resource_id=str(uow.actor.id)))


async def logout_everywhere(services: Services, caller: Caller) -> None:
    """End every session of the signed-in person (their visit sockets close after the commit)."""
    async with unit_of_work(services, caller) as uow:
        await uow.session.execute(delete(AuthSession).where(AuthSession.user_id == uow.actor.id))
        uow.audit(AuditRecord("logout.everywhere", "session", resource_id=str(uow.actor.id)))


async def end_sessions(services: Services, caller: Caller, user_id: uuid.UUID) -> User:
    """An admin ends every session of an account (it stays active; its owner signs in again)."""
    async with unit_of_work(services, caller) as uow:
        user = await get_user_for_admin(uow.session, uow.actor, user_id)
        await uow.session.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
        uow.audit(
            AuditRecord(
                "account.end_sessions",
                "user",
                resource_id=str(user.id),
                patient_id=user.id if user.role == Role.PATIENT.value else None,
            )
        )
        return user


# --- people --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewPerson:
    """What it takes to create an account."""

    email: str
    display_name: str
    role: Role
    password: str
    time_zone: str
    phone: str | None = None
    date_of_birth: date | None = None


@dataclass(frozen=True)
class PersonChanges:
    """Admin edits to an account; None leaves a field as it is."""

    display_name: str | None = None
    is_active: bool | None = None
    time_zone: str | None = None
    phone: str | None = None


def _apply_details(
    user: User, display_name: str | None, time_zone: str | None, phone: str | None
) -> list[str]:
    """Set the given name, time zone and phone (None: leave it); the fields that changed."""
    changed: list[str] = []
    if display_name is not None and display_name.strip() != user.display_name:
        if not display_name.strip():
            raise InvalidInput("A name is required.", details={"field": "display_name"})
        user.display_name = display_name.strip()
        changed.append("display_name")
    if time_zone is not None and time_zone != user.time_zone:
        _check_zone(time_zone)
        user.time_zone = time_zone
        changed.append("time_zone")
    if phone is not None and (phone.strip() or None) != user.phone:
        user.phone = phone.strip() or None
        changed.append("phone")
    return changed


@dataclass(frozen=True)
class OwnChanges:
    """What a person may change of their own account; None leaves a field as it is."""

    display_name: str | None = None
    time_zone: str | None = None
    phone: str | None = None
    # A patient's own preferences: "" clears the channel; an EmergencyContact with nothing in it
    # clears the contact.
    preferred_contact: str | None = None
    emergency_contact: rules.EmergencyContact | None = None


def _apply_preferences(user: User, changes: OwnChanges) -> list[str]:
    """Set a patient's preferred channel and emergency contact; the fields that changed."""
    if changes.preferred_contact is None and changes.emergency_contact is None:
        return []
    if user.role != Role.PATIENT.value:
        raise InvalidInput(
            "Only patients keep a preferred contact channel and an emergency contact here.",
            details={"field": "preferred_contact"},
        )
    changed: list[str] = []
    if changes.preferred_contact is not None:
        try:
            channel = (
                rules.ContactChannel(changes.preferred_contact).value
                if changes.preferred_contact
                else None
            )
        except ValueError:
            raise InvalidInput(
                "Please choose email, a phone call or a text message.",
                details={"field": "preferred_contact"},
            ) from None
        if channel != user.preferred_contact:
            user.preferred_contact = channel
            changed.append("preferred_contact")
    contact = changes.emergency_contact
    if contact is not None:
        new = (contact.name or None, contact.phone or None, contact.relationship or None)
        old = (user.emergency_name, user.emergency_phone, user.emergency_relationship)
        if new != old:
            user.emergency_name, user.emergency_phone, user.emergency_relationship = new
            changed.append("emergency_contact")
    return changed


async def update_self(services: Services, caller: Caller, changes: OwnChanges) -> User:
    """A person changes their own name, time zone or phone (audited like an admin's edit)."""
    async with unit_of_work(services, caller) as uow:
        user = await uow.session.get(User, uow.actor.id)
        if user is None:
            raise NotAuthenticated("Please sign in.")
        changed = _apply_details(user, changes.display_name, changes.time_zone, changes.phone)
        changed += _apply_preferences(user, changes)
        if changed:
            user.updated_at = uow.now
        uow.audit(
            AuditRecord(
                "account.update",
                "user",
                resource_id=str(user.id),
                patient_id=user.id if user.role == Role.PATIENT.value else None,
                details={"fields": changed, "self": True},
            )
        )
        return user


def _check_zone(name: str) -> None:
    zones.resolve_zone(name, "time_zone")


async def _insert_person(uow: UnitOfWork, services: Services, person: NewPerson) -> User:
    email = rules.normalize_email(person.email)
    rules.check_password_strength(person.password, email)
    _check_zone(person.time_zone)
    if not person.display_name.strip():
        raise InvalidInput("A name is required.", details={"field": "display_name"})
    if await uow.session.scalar(select(User.id).where(User.email == email)):
        raise Conflict("An account with that email already exists.", code=ErrorCode.EMAIL_TAKEN)
    user = User(
        email=email,
        display_name=person.display_name.strip(),
        role=person.role.value,
        password_hash=await services.passwords.hash(person.password),
        is_active=True,
        time_zone=person.time_zone,
        phone=person.phone,
        date_of_birth=person.date_of_birth,
        created_at=uow.now,
        updated_at=uow.now,
    )
    uow.session.add(user)
    try:
        await uow.session.flush()
    except IntegrityError:
        # Two creations of one email raced past the check above.
        raise Conflict(
            "An account with that email already exists.", code=ErrorCode.EMAIL_TAKEN
        ) from None
    uow.audit(
        AuditRecord(
            "account.create",
            "user",
            resource_id=str(user.id),
            patient_id=user.id if person.role is Role.PATIENT else None,
            details={"role": person.role.value},
        )
    )
    return user


async def create_person(services: Services, caller: Caller, person: NewPerson) -> User:
    """An admin creates a therapist, patient or admin account."""
    async with unit_of_work(services, caller) as uow:
        require_admin(uow.actor)
        return await _insert_person(uow, services, person)


async def create_person_unattended(services: Services, person: NewPerson) -> User:
    """Create an account from the command line or demo data (audited as the system)."""
    async with unit_of_work(services, Caller(actor=None, ip="local")) as uow:
        return await _insert_person(uow, services, person)


async def register_patient(services: Services, caller: Caller, person: NewPerson) -> User:
    """A patient creates their own account, when the clinic allows it."""
    if not services.settings.self_registration:
        raise NotFound("Self-registration is not available; please contact the clinic.")
    async with unit_of_work(services, caller) as uow:
        return await _insert_person(
            uow, services, NewPerson(**{**person.__dict__, "role": Role.PATIENT})
        )


async def update_person(
    services: Services, caller: Caller, user_id: uuid.UUID, changes: PersonChanges
) -> User:
    """An admin edits or (de)activates an account; deactivation ends its sessions at once."""
    async with unit_of_work(services, caller) as uow:
        user = await get_user_for_admin(uow.session, uow.actor, user_id)
        if changes.is_active is False and user.id == uow.actor.id:
            raise Conflict(
                "You cannot deactivate your own account.", code=ErrorCode.SELF_DEACTIVATION
            )
        changed = _apply_details(user, changes.display_name, changes.time_zone, changes.phone)
        if changes.is_active is not None and changes.is_active != user.is_active:
            user.is_active = changes.is_active
            user.deactivated_at = None if changes.is_active else uow.now
            changed.append("is_active")
            if not changes.is_active:
                await uow.session.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
                await devices.revoke_all(uow.session, user.id)
        user.updated_at = uow.now
        action = (
            "account.deactivate"
            if changes.is_active is False and "is_active" in changed
            else "account.update"
        )
        uow.audit(
            AuditRecord(
                action,
                "user",
                resource_id=str(user.id),
                patient_id=user.id if user.role == Role.PATIENT.value else None,
                details={"fields": changed},
            )
        )
        return user


async def list_people(
    services: Services, caller: Caller, role: Role | None = None, limit: int = 200, offset: int = 0
) -> tuple[list[User], int]:
    """Accounts for the admin's people page, newest first."""
    async with unit_of_work(services, caller, reads_only=True) as uow:
        return await list_people_in(uow, role, limit, offset)


async def list_people_in(
    uow: UnitOfWork, role: Role | None = None, limit: int = 200, offset: int = 0
) -> tuple[list[User], int]:
    """`list_people` inside the caller's unit of work."""
    require_admin(uow.actor)
    query = select(User)
    if role is not None:
        query = query.where(User.role == role.value)
    total = await uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    people = list(
        (
            await uow.session.scalars(
                query.order_by(User.created_at.desc(), User.email).limit(limit).offset(offset)
            )
        ).all()
    )
    uow.audit(
        AuditRecord(
            "account.list",
            "user",
            details={"role": role.value if role else None, "count": len(people)},
        )
    )
    return people, total


async def get_person(services: Services, caller: Caller, user_id: uuid.UUID) -> User:
    """One account, for an admin."""
    async with unit_of_work(services, caller) as uow:
        user = await get_user_for_admin(uow.session, uow.actor, user_id)
        uow.audit(
            AuditRecord(
                "account.read",
                "user",
                resource_id=str(user.id),
                patient_id=user.id if user.role == Role.PATIENT.value else None,
            )
        )
        return user


# --- patients and care teams ---------------------------------------------------------------------


async def list_patients(services: Services, caller: Caller) -> list[User]:
    """The patients the actor may see (self, own patients, or all for admins)."""
    async with unit_of_work(services, caller, reads_only=True) as uow:
        return await list_patients_in(uow)


async def list_patients_in(uow: UnitOfWork) -> list[User]:
    """`list_patients` inside the caller's unit of work."""
    patients = list(
        (
            await uow.session.scalars(patients_visible_to(uow.actor).order_by(User.display_name))
        ).all()
    )
    uow.audit(AuditRecord("patient.list", "patient", details={"count": len(patients)}))
    return patients


async def get_patient(services: Services, caller: Caller, patient_id: uuid.UUID) -> User:
    """One patient's profile, if the actor may see it (404 otherwise, and audited as denied)."""
    async with unit_of_work(services, caller) as uow:
        patient = await uow.guarded(
            get_visible_patient(uow.session, uow.actor, patient_id),
            "patient.read",
            "patient",
            str(patient_id),
        )
        uow.audit(
            AuditRecord(
                "patient.read", "patient", resource_id=str(patient.id), patient_id=patient.id
            )
        )
        return patient


async def care_team(services: Services, caller: Caller, patient_id: uuid.UUID) -> list[User]:
    """The therapists on a patient's care team."""
    async with unit_of_work(services, caller) as uow:
        return await care_team_in(uow, patient_id)


async def care_team_in(uow: UnitOfWork, patient_id: uuid.UUID) -> list[User]:
    """`care_team` inside the caller's unit of work."""
    patient = await uow.guarded(
        get_visible_patient(uow.session, uow.actor, patient_id),
        "care_team.read",
        "patient",
        str(patient_id),
    )
    therapists = list(
        (
            await uow.session.scalars(
                select(User)
                .join(CareAssignment, CareAssignment.therapist_id == User.id)
                .where(CareAssignment.patient_id == patient.id)
                .order_by(User.display_name)
            )
        ).all()
    )
    uow.audit(
        AuditRecord("care_team.read", "patient", resource_id=str(patient.id), patient_id=patient.id)
    )
    return therapists


async def assign_therapist(
    services: Services, caller: Caller, patient_id: uuid.UUID, therapist_id: uuid.UUID
) -> None:
    """An admin puts a therapist on a patient's care team (idempotent)."""
    async with unit_of_work(services, caller) as uow:
        patient = await get_user_for_admin(uow.session, uow.actor, patient_id)
        therapist = await uow.session.get(User, therapist_id)
        if patient.role != Role.PATIENT.value:
            raise NotFound("No such patient.")
        if therapist is None or therapist.role != Role.THERAPIST.value or not therapist.is_active:
            raise InvalidInput(
                "That is not an active therapist.", details={"field": "therapist_id"}
            )
        await add_care_assignment(uow.session, patient.id, therapist.id, uow.now)
        uow.audit(
            AuditRecord(
                "care_team.assign",
                "patient",
                resource_id=str(patient.id),
                patient_id=patient.id,
                details={"therapist_id": str(therapist.id)},
            )
        )


async def add_care_assignment(
    session: AsyncSession, patient_id: uuid.UUID, therapist_id: uuid.UUID, now: datetime
) -> bool:
    """Put a therapist on a patient's care team unless already there; whether it was added.

    The one way every caller (an admin, a first booking) assigns: two of them at once for the
    same pair both succeed, one of them adding the row (ON CONFLICT DO NOTHING).
    """
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    result = await session.execute(
        insert(CareAssignment)
        .values(patient_id=patient_id, therapist_id=therapist_id, created_at=now)
        .on_conflict_do_nothing()
    )
    return bool(getattr(result, "rowcount", 0))


async def remove_therapist(
    services: Services, caller: Caller, patient_id: uuid.UUID, therapist_id: uuid.UUID
) -> None:
    """An admin takes a therapist off a patient's care team (idempotent); the pair's visit
    sockets close after the commit."""
    async with unit_of_work(services, caller) as uow:
        patient = await get_user_for_admin(uow.session, uow.actor, patient_id)
        if patient.role != Role.PATIENT.value:
            raise NotFound("No such patient.")
        await uow.session.execute(
            delete(CareAssignment).where(
                CareAssignment.patient_id == patient.id,
                CareAssignment.therapist_id == therapist_id,
            )
        )
        uow.audit(
            AuditRecord(
                "care_team.remove",
                "patient",
                resource_id=str(patient.id),
                patient_id=patient.id,
                details={"therapist_id": str(therapist_id)},
            )
        )


async def get_self(services: Services, caller: Caller) -> User:
    """The signed-in person's own account; a patient's own record read is audited like any other."""
    async with unit_of_work(services, caller) as uow:
        return await get_self_in(uow)


async def get_self_in(uow: UnitOfWork) -> User:
    """`get_self` inside the caller's unit of work."""
    user = await uow.session.get(User, uow.actor.id)
    if user is None:
        raise NotAuthenticated("Please sign in.")
    if user.role == Role.PATIENT.value:
        uow.audit(
            AuditRecord(
                "patient.read",
                "patient",
                resource_id=str(user.id),
                patient_id=user.id,
                details={"self": True},
            )
        )
    return user
