"""Pure account rules: login throttling, session expiry, input normalization. No I/O."""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from telehealth.errors import InvalidInput

# Practical, not RFC-complete: one @, a dot in the domain, no spaces.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def normalize_email(raw: str) -> str:
    """Lower-case and trim an email address; raise InvalidInput when it cannot be one."""
    email = raw.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidInput("That does not look like an email address.", details={"field": "email"})
    return email


def account_throttle_key(email: str) -> str:
    """Throttle key for an email, whether or not an account has it (so lockout leaks nothing)."""
    return "account:" + hashlib.sha256(email.encode()).hexdigest()


def address_throttle_key(ip: str) -> str:
    """Throttle key for a client address."""
    return "address:" + ip


def device_throttle_key(device_hash: str) -> str:
    """Throttle key for one trusted device of an account (its stored cookie hash)."""
    return "device:" + device_hash


# --- password reset links --------------------------------------------------------------------

# How long an emailed reset link works: long enough to open the email, short enough that an old
# email found later in a mailbox opens nothing.
RESET_LINK_LIFETIME = timedelta(minutes=15)
# Links asked for one address, and requests from one client address, per window. Further
# requests get the same answer and send nothing: a mailbox is not flooded, and a stranger cannot
# tell from the answer whether the limit, or an account, is there.
RESET_LINKS_PER_ACCOUNT = 3
RESET_REQUESTS_PER_ADDRESS = 10
RESET_WINDOW = timedelta(hours=1)
# A reset token is `tokens.new_token()`: 43 URL-safe characters. Anything else in the URL is not
# one, and is refused without being looked up.
_RESET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


def reset_account_throttle_key(email: str) -> str:
    """Throttle key of the reset links asked for an email, whether or not an account has it."""
    return "reset-account:" + hashlib.sha256(email.encode()).hexdigest()


def reset_address_throttle_key(ip: str) -> str:
    """Throttle key of the reset requests from one client address."""
    return "reset-address:" + ip


def reset_token_shape_ok(token: str) -> bool:
    """Whether a token from a URL could be a reset token at all."""
    return bool(_RESET_TOKEN.match(token))


@dataclass(frozen=True)
class ThrottleState:
    """Attempts counted in the current window, and a lock if one is in force."""

    failures: int
    window_started_at: datetime
    locked_until: datetime | None


def locked_for(state: ThrottleState | None, now: datetime) -> int:
    """Seconds until a throttle unlocks (0 when not locked)."""
    if state is None or state.locked_until is None or state.locked_until <= now:
        return 0
    return seconds_until(state.locked_until, now)


def seconds_until(when: datetime, now: datetime) -> int:
    """Whole seconds until `when`, rounded up and at least 1: never "0" while still waiting."""
    return max(1, math.ceil((when - now).total_seconds()))


def claim_attempt(
    state: ThrottleState | None, now: datetime, limit: int, window: timedelta
) -> ThrottleState | None:
    """Count one attempt before its password is checked; None when the key may not try now.

    The attempt is counted first, so however many arrive at once, at most `limit` passwords are
    checked per window. The attempt that reaches the limit locks the key for `window`; a right
    password afterwards resets or refunds the count. `throttle.claim` is this rule in one SQL
    statement; the two must say the same.
    """
    if state is not None and locked_for(state, now):
        return None
    fresh = state is None or state.window_started_at <= now - window
    if state is not None and not fresh and state.failures >= limit:
        return None
    failures = 1 if fresh or state is None else state.failures + 1
    started = now if fresh or state is None else state.window_started_at
    if failures >= limit:
        locked_until: datetime | None = now + window
    else:
        locked_until = None if fresh or state is None else state.locked_until
    return ThrottleState(failures, started, locked_until)


def refused_for(state: ThrottleState, now: datetime, window: timedelta) -> int:
    """Retry-After for a refused attempt: until the lock ends, or else until the window ends."""
    return locked_for(state, now) or seconds_until(state.window_started_at + window, now)


def refund_attempt(state: ThrottleState, limit: int) -> ThrottleState:
    """Give back the count of an attempt whose password was right (a shared address is not
    paused by people signing in); the lock goes once the count is back under the limit."""
    failures = max(0, state.failures - 1)
    locked_until = state.locked_until if failures >= limit else None
    return ThrottleState(failures, state.window_started_at, locked_until)


@dataclass(frozen=True)
class SessionTimes:
    """When a session started, was last used and must end regardless."""

    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


def session_expired(times: SessionTimes, now: datetime, idle: timedelta) -> str | None:
    """Why a session is over ("idle" or "absolute"), or None while it is valid."""
    if now >= times.expires_at:
        return "absolute"
    if now - times.last_seen_at >= idle:
        return "idle"
    return None


# Writing last_seen_at on every request would make every read a write, so it is written at most once
# per touch interval. The idle limit is measured from the stored time, so a session can end up to
# one interval before `idle` after its very last request, never after it. One second (or a quarter
# of the idle limit, if that is shorter) keeps the limit correct to the second for any setting, at
# one small write a second for a session in active use: a page view's several requests share it.
MAX_TOUCH_INTERVAL = timedelta(seconds=1)


def touch_interval(idle: timedelta) -> timedelta:
    """How stale the stored last-seen time may get before a request writes a new one."""
    return min(MAX_TOUCH_INTERVAL, idle / 4)


def needs_touch(last_seen_at: datetime, now: datetime, idle: timedelta) -> bool:
    """Whether to persist a new last-seen time."""
    return now - last_seen_at >= touch_interval(idle)


def password_problem(password: str, email: str) -> str | None:
    """What the new-password policy finds wrong with a password, in plain words; None when it
    passes. Registration, account creation and a password change all apply it."""
    from telehealth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters for the password."
    if len(password) > MAX_PASSWORD_LENGTH:
        return "That password is too long."
    if password.strip().lower() == email.strip().lower():
        return "The password cannot be the email address."
    return None


def check_password_strength(password: str, email: str) -> None:
    """Reject passwords that are too short, too long, or the email itself."""
    problem = password_problem(password, email)
    if problem is not None:
        raise InvalidInput(problem, details={"field": "password"})


# --- a patient's contact preferences ----------------------------------------------------------


class ContactChannel(StrEnum):
    """How a patient prefers the clinic to reach them."""

    EMAIL = "email"
    PHONE_CALL = "phone_call"
    TEXT_MESSAGE = "text_message"


CHANNEL_WORDS = {
    ContactChannel.EMAIL: "Email",
    ContactChannel.PHONE_CALL: "Phone call",
    ContactChannel.TEXT_MESSAGE: "Text message",
}

PHONE_LIMIT = 32  # the column, and the API's limit on the person's own phone
# What people write in a phone number: digits, spaces, + ( ) - . / and an extension ("x12",
# "ext. 12"); at least five digits, so a word or a stray mark is not taken for a number.
_PHONE = re.compile(r"\+?[0-9 ()\-./]+((x|ext\.?) ?[0-9]{1,6})?", re.IGNORECASE)
_MIN_DIGITS = 5


def phone_problem(phone: str) -> str | None:
    """Why a (stripped, non-empty) phone number cannot be a phone number, or None."""
    if len(phone) > PHONE_LIMIT:
        return f"is longer than {PHONE_LIMIT} characters"
    if not _PHONE.fullmatch(phone) or sum(c.isdigit() for c in phone) < _MIN_DIGITS:
        return "is not a phone number: use digits, spaces, + ( ) - and an extension like x12"
    return None


@dataclass(frozen=True, slots=True)
class EmergencyContact:
    """Whom to call if something happens during a visit: all three parts, or none."""

    name: str
    phone: str
    relationship: str

    def __post_init__(self) -> None:
        given = {
            "emergency_name": self.name,
            "emergency_phone": self.phone,
            "emergency_relationship": self.relationship,
        }
        missing = [field for field, value in given.items() if not value]
        if missing and len(missing) < len(given):
            words = {
                "emergency_name": "their name",
                "emergency_phone": "their phone number",
                "emergency_relationship": "who they are to you",
            }
            raise InvalidInput(
                "For an emergency contact, please give "
                + " and ".join(words[f] for f in missing)
                + " too, or leave all three empty.",
                details={"field": missing[0]},
            )
        if len(self.name) > 120 or len(self.relationship) > 60:
            field = "emergency_name" if len(self.name) > 120 else "emergency_relationship"
            raise InvalidInput(
                "The emergency contact's name is at most 120 characters and who they are to"
                " you at most 60.",
                details={"field": field},
            )
        if self.phone and (problem := phone_problem(self.phone)):
            raise InvalidInput(
                f"The emergency contact's phone {problem}.", details={"field": "emergency_phone"}
            )

    @property
    def given(self) -> bool:
        """Whether there is a contact at all."""
        return bool(self.name)
