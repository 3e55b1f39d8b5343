"""Pure account rules: throttling, session expiry, email normalization, password strength."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from telehealth.accounts import rules
from telehealth.accounts.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from telehealth.errors import InvalidInput

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


# --- throttle ------------------------------------------------------------------------------------


def _fail(
    times: int, limit: int = 5, start: datetime = T0, step: timedelta = timedelta(seconds=1)
) -> rules.ThrottleState:
    state: rules.ThrottleState | None = None
    now = start
    for _ in range(times):
        state = rules.after_failure(state, now, limit, WINDOW)
        now += step
    assert state is not None
    return state


def test_failures_below_the_limit_do_not_lock() -> None:
    state = _fail(4)
    assert state.failures == 4
    assert state.locked_until is None
    assert state.window_started_at == T0
    assert rules.locked_for(state, T0 + timedelta(seconds=4)) == 0


def test_the_limit_locks_for_one_window_from_the_last_failure() -> None:
    state = _fail(5)
    last_failure = T0 + timedelta(seconds=4)
    assert state.locked_until == last_failure + WINDOW
    assert rules.locked_for(state, last_failure) == 900
    assert rules.locked_for(state, last_failure + WINDOW - timedelta(seconds=1)) == 1
    # Partial seconds round up: never tell a client "0" while it is still locked.
    assert rules.locked_for(state, last_failure + WINDOW - timedelta(microseconds=1)) == 1
    assert rules.locked_for(state, last_failure + WINDOW) == 0


def test_failures_after_the_window_start_a_new_count() -> None:
    state = _fail(4)
    later = T0 + WINDOW
    state = rules.after_failure(state, later, 5, WINDOW)
    assert state.failures == 1
    assert state.window_started_at == later
    assert state.locked_until is None


def test_failure_just_inside_the_window_still_counts() -> None:
    state = _fail(4)
    state = rules.after_failure(state, T0 + WINDOW - timedelta(microseconds=1), 5, WINDOW)
    assert state.failures == 5
    assert state.locked_until is not None


def test_locked_for_without_state_or_lock_is_zero() -> None:
    assert rules.locked_for(None, T0) == 0
    assert rules.locked_for(rules.ThrottleState(3, T0, None), T0) == 0


def test_throttle_keys_do_not_contain_the_email() -> None:
    key = rules.account_throttle_key("maria@example.test")
    assert "maria" not in key
    assert key == rules.account_throttle_key("maria@example.test")
    assert key != rules.account_throttle_key("mario@example.test")
    assert rules.address_throttle_key("10.0.0.1") != rules.address_throttle_key("10.0.0.2")
    assert key != rules.address_throttle_key("maria@example.test")


# --- session expiry ------------------------------------------------------------------------------

IDLE = timedelta(minutes=15)


def _times(last_seen: datetime = T0) -> rules.SessionTimes:
    return rules.SessionTimes(
        created_at=T0, last_seen_at=last_seen, expires_at=T0 + timedelta(hours=12)
    )


def test_session_valid_until_just_before_the_idle_limit() -> None:
    assert rules.session_expired(_times(), T0 + IDLE - timedelta(microseconds=1), IDLE) is None


def test_session_idle_at_exactly_the_idle_limit() -> None:
    assert rules.session_expired(_times(), T0 + IDLE, IDLE) == "idle"


def test_session_absolute_end_wins_even_when_active() -> None:
    end = T0 + timedelta(hours=12)
    active = _times(last_seen=end - timedelta(seconds=1))
    assert rules.session_expired(active, end - timedelta(microseconds=1), IDLE) is None
    assert rules.session_expired(active, end, IDLE) == "absolute"


def test_touch_only_after_the_interval() -> None:
    assert not rules.needs_touch(T0, T0 + rules.TOUCH_INTERVAL - timedelta(microseconds=1))
    assert rules.needs_touch(T0, T0 + rules.TOUCH_INTERVAL)


# --- email ---------------------------------------------------------------------------------------


def test_email_is_trimmed_and_lower_cased() -> None:
    assert rules.normalize_email("  Maria.Lopez@Example.TEST \n") == "maria.lopez@example.test"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "maria",
        "maria@",
        "@example.test",
        "maria@example",
        "maria@example.t",
        "ma ria@example.test",
        "maria@exa mple.test",
        "maria@@example.test",
        "a" * 65 + "@example.test",
        "maria@" + "d" * 250 + ".test",
    ],
)
def test_not_an_email_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        rules.normalize_email(raw)
    assert raised.value.details == {"field": "email"}


# --- password ------------------------------------------------------------------------------------


def test_password_length_boundaries() -> None:
    rules.check_password_strength("p" * MIN_PASSWORD_LENGTH, "maria@example.test")
    rules.check_password_strength("p" * MAX_PASSWORD_LENGTH, "maria@example.test")
    with pytest.raises(InvalidInput) as short:
        rules.check_password_strength("p" * (MIN_PASSWORD_LENGTH - 1), "maria@example.test")
    assert short.value.details == {"field": "password"}
    with pytest.raises(InvalidInput):
        rules.check_password_strength("p" * (MAX_PASSWORD_LENGTH + 1), "maria@example.test")


def test_password_cannot_be_the_email_in_any_case() -> None:
    with pytest.raises(InvalidInput):
        rules.check_password_strength("Maria@Example.test", "maria@example.test")
    with pytest.raises(InvalidInput):
        rules.check_password_strength(" maria@example.test ", "maria@example.test")
