"""Pure rules of the home program: the amounts in words, which exercises are today's, and which
days a done mark may be given for."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Difficulty = Literal["easy", "just_right", "hard"]
DIFFICULTIES: dict[str, str] = {
    "easy": "Easy",
    "just_right": "Just right",
    "hard": "Hard",
}
# A mark made offline reaches the server later: the day it was made on is kept if it is today
# or yesterday in the patient's zone (a phone offline overnight), never older or in the future.
DAYS_BACK = 1

_TIMES = {1: "once", 2: "twice"}


def _count(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def times_words(count: int, period: str) -> str:
    """'once a day', 'twice a week', '3 times a day'."""
    return f"{_TIMES.get(count, f'{count} times')} a {period}"


def dosage_words(sets: int, repetitions: int, hold_seconds: int, per_day: int) -> str:
    """The amount as a person says it: '3 sets of 10, hold 5 seconds, twice a day'."""
    parts = [f"{_count(sets, 'set')} of {repetitions}"]
    if hold_seconds:
        parts.append(f"hold {_count(hold_seconds, 'second')}")
    parts.append(times_words(per_day, "day"))
    return ", ".join(parts)


def week_words(per_week: int) -> str:
    """How often in a week: 'every day', or 'N times a week, on any days you choose'."""
    if per_week >= 7:
        return "every day"
    return f"{times_words(per_week, 'week')}, on any days you choose"


def is_daily(per_week: int) -> bool:
    """Whether the exercise is for every day (else the patient picks the days)."""
    return per_week >= 7


def local_day(moment: datetime, zone: str) -> date:
    """The calendar day in the patient's zone at an aware moment."""
    return moment.astimezone(ZoneInfo(zone)).date()


def week_of(day: date) -> tuple[date, date]:
    """The Monday-to-Sunday week holding `day` (first and last day)."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def allowed_day(day: date, today: date) -> bool:
    """Whether a done mark or a log may be given for `day` (today or shortly before)."""
    return today - timedelta(days=DAYS_BACK) <= day <= today


def is_todays(per_week: int, done_this_week: int, done_today: bool) -> bool:
    """Whether an exercise belongs on today's list.

    An every-day exercise always does. One for fewer days a week does until the week's count is
    reached; the day it is ticked it stays, so the patient sees what they did.
    """
    return is_daily(per_week) or done_today or done_this_week < per_week
