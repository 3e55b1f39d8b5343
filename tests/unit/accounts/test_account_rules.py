"""Pure account rules: throttling, session expiry, email normalization, password strength."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from telehealth.accounts import rules
from telehealth.errors import InvalidInput
from telehealth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=15)


# --- throttle ------------------------------------------------------------------------------------


def _claim(
    times: int, limit: int = 5, start: datetime = T0, step: timedelta = timedelta(seconds=1)
) -> rules.ThrottleState:
    state: rules.ThrottleState | None = None
    now = start
    for _ in range(times):
        claimed = rules.claim_attempt(state, now, limit, WINDOW)
        assert claimed is not None
        state = claimed
        now += step
    assert state is not None
    return state


def test_attempts_below_the_limit_do_not_lock() -> None:
    state = _claim(4)
    assert state.failures == 4
    assert state.locked_until is None
    assert state.window_started_at == T0
    assert rules.locked_for(state, T0 + timedelta(seconds=4)) == 0


def test_the_limit_locks_for_one_window_from_the_last_attempt() -> None:
    state = _claim(5)
    last = T0 + timedelta(seconds=4)
    assert state.locked_until == last + WINDOW
    assert rules.locked_for(state, last) == 900
    assert rules.locked_for(state, last + WINDOW - timedelta(seconds=1)) == 1
    # Partial seconds round up: never tell a client "0" while it is still locked.
    assert rules.locked_for(state, last + WINDOW - timedelta(microseconds=1)) == 1
    assert rules.locked_for(state, last + WINDOW) == 0


def test_no_attempt_past_the_limit_is_counted_or_allowed() -> None:
    state = _claim(5)
    assert rules.claim_attempt(state, T0 + timedelta(seconds=5), 5, WINDOW) is None
    # Still refused a second before the lock ends, allowed (as a new window) when it does.
    lock_end = T0 + timedelta(seconds=4) + WINDOW
    assert rules.claim_attempt(state, lock_end - timedelta(seconds=1), 5, WINDOW) is None
    again = rules.claim_attempt(state, lock_end, 5, WINDOW)
    assert again == rules.ThrottleState(1, lock_end, None)


def test_attempts_after_the_window_start_a_new_count() -> None:
    state = _claim(4)
    later = T0 + WINDOW
    claimed = rules.claim_attempt(state, later, 5, WINDOW)
    assert claimed == rules.ThrottleState(1, later, None)


def test_attempt_just_inside_the_window_still_counts() -> None:
    state = _claim(4)
    claimed = rules.claim_attempt(state, T0 + WINDOW - timedelta(microseconds=1), 5, WINDOW)
    assert claimed is not None
    assert claimed.failures == 5
    assert claimed.locked_until is not None


def test_a_limit_of_one_locks_at_the_first_attempt() -> None:
    claimed = rules.claim_attempt(None, T0, 1, WINDOW)
    assert claimed == rules.ThrottleState(1, T0, T0 + WINDOW)


def test_a_refund_lifts_the_lock_once_under_the_limit() -> None:
    state = _claim(5)
    refunded = rules.refund_attempt(state, 5)
    assert refunded == rules.ThrottleState(4, T0, None)
    assert rules.refund_attempt(rules.ThrottleState(0, T0, None), 5).failures == 0
    over = rules.ThrottleState(7, T0, T0 + WINDOW)
    assert rules.refund_attempt(over, 5).locked_until == T0 + WINDOW


def test_refused_for_names_the_lock_or_else_the_window_end() -> None:
    locked = rules.ThrottleState(5, T0, T0 + timedelta(minutes=20))
    assert rules.refused_for(locked, T0 + timedelta(minutes=10), WINDOW) == 600
    full = rules.ThrottleState(5, T0, None)
    assert rules.refused_for(full, T0 + timedelta(minutes=10), WINDOW) == 300
    assert rules.refused_for(full, T0 + WINDOW, WINDOW) == 1


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
    assert rules.device_throttle_key("ab" * 32) not in (key, rules.address_throttle_key("ab" * 32))


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
    interval = rules.touch_interval(IDLE)
    assert not rules.needs_touch(T0, T0 + interval - timedelta(microseconds=1), IDLE)
    assert rules.needs_touch(T0, T0 + interval, IDLE)


@pytest.mark.parametrize(
    ("idle", "interval"),
    [
        (timedelta(seconds=2), timedelta(milliseconds=500)),
        (timedelta(seconds=4), timedelta(seconds=1)),
        (timedelta(minutes=1), timedelta(seconds=1)),
        (timedelta(minutes=15), timedelta(seconds=1)),
        (timedelta(hours=8), timedelta(seconds=1)),
    ],
)
def test_the_touch_interval_is_a_quarter_of_the_idle_limit_at_most_a_second(
    idle: timedelta, interval: timedelta
) -> None:
    assert rules.touch_interval(idle) == interval


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


def test_the_policy_says_what_is_wrong_in_words() -> None:
    # The words a password change shows beside its field; the same rule registration applies.
    email = "maria@example.test"
    assert rules.password_problem("p" * MIN_PASSWORD_LENGTH, email) is None
    assert rules.password_problem("p" * (MIN_PASSWORD_LENGTH - 1), email) == (
        f"Use at least {MIN_PASSWORD_LENGTH} characters for the password."
    )
    assert rules.password_problem("p" * (MAX_PASSWORD_LENGTH + 1), email) == (
        "That password is too long."
    )
    assert rules.password_problem(" MARIA@example.test", email) == (
        "The password cannot be the email address."
    )


def test_a_reset_token_in_a_url_is_checked_for_shape_before_any_lookup() -> None:
    from telehealth.tokens import new_token

    assert rules.reset_token_shape_ok(new_token())
    for token in (
        "",
        "short",
        "A" * 65,
        "A" * 42 + "\x00",
        "A" * 42 + "/",
        "é" * 43,
        "A" * 42 + "=",
    ):
        assert not rules.reset_token_shape_ok(token), token


def test_reset_throttle_keys_are_their_own_and_fit_the_table() -> None:
    email = "maria@example.test"
    keys = {
        rules.reset_account_throttle_key(email),
        rules.reset_address_throttle_key("2001:db8::1"),
        rules.account_throttle_key(email),
        rules.address_throttle_key("2001:db8::1"),
    }
    assert len(keys) == 4  # a reset request never spends a sign-in attempt
    assert email not in rules.reset_account_throttle_key(email)
    longest_ip = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"
    assert len(rules.reset_address_throttle_key(longest_ip)) <= 96  # login_throttles.key
    assert len(rules.reset_account_throttle_key(email)) <= 96
    assert timedelta(minutes=15) == rules.RESET_LINK_LIFETIME
