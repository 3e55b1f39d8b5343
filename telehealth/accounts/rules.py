"""Pure account rules: login throttling, session expiry, input normalization. No I/O."""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

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


@dataclass(frozen=True)
class ThrottleState:
    """Failures counted in the current window, and a lock if one is in force."""

    failures: int
    window_started_at: datetime
    locked_until: datetime | None


def locked_for(state: ThrottleState | None, now: datetime) -> int:
    """Seconds until a throttle unlocks (0 when not locked)."""
    if state is None or state.locked_until is None or state.locked_until <= now:
        return 0
    return max(1, math.ceil((state.locked_until - now).total_seconds()))


def after_failure(
    state: ThrottleState | None, now: datetime, limit: int, window: timedelta
) -> ThrottleState:
    """Count one failure; lock for `window` once `limit` failures fall inside one window."""
    if state is None or now - state.window_started_at >= window:
        state = ThrottleState(failures=0, window_started_at=now, locked_until=None)
    failures = state.failures + 1
    locked_until = now + window if failures >= limit else state.locked_until
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


# Writing last_seen_at on every request would make every read a write; a minute of slack on a
# fifteen-minute idle timeout is invisible to people.
TOUCH_INTERVAL = timedelta(seconds=60)


def needs_touch(last_seen_at: datetime, now: datetime) -> bool:
    """Whether to persist a new last-seen time."""
    return now - last_seen_at >= TOUCH_INTERVAL


def check_password_strength(password: str, email: str) -> None:
    """Reject passwords that are too short, too long, or the email itself."""
    from telehealth.accounts.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"Use at least {MIN_PASSWORD_LENGTH} characters for the password.",
            details={"field": "password"},
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput("That password is too long.", details={"field": "password"})
    if password.strip().lower() == email.strip().lower():
        raise InvalidInput(
            "The password cannot be the email address.", details={"field": "password"}
        )
