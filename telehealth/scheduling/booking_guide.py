"""How the booking pages guide a patient: which types, which times, and the policy in words.

Pure rules, tested against hand-computed cases: the pages only arrange what these return.

* Types are offered in their display order, and only those the reader may book (patients book
  the visits they come for; the re-evaluation and the discharge visit are the therapist's call).
* Free times are grouped by the reader's local day and by part of day (morning before noon,
  afternoon until 17:00, evening after), because "a morning next week" is how people choose,
  and a week of quarter-hour slots shown flat is hundreds of buttons on a phone.
* Day headings say "Today" and "Tomorrow" where true, counted on the reader's own calendar.
* A visit booked inside its type's late-cancellation window is late the moment it is booked:
  the confirm page says so before the patient commits, with the same rule the cancellation uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Generic, Protocol, TypeVar


class PartOfDay(StrEnum):
    """Where a time falls in the reader's day."""

    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"

    @property
    def label(self) -> str:
        """The heading people read: "Morning"."""
        return self.value.title()


NOON_HOUR = 12
EVENING_HOUR = 17


def part_of_day(local: datetime) -> PartOfDay:
    """Morning before 12:00, afternoon until 17:00, evening from 17:00 (the local wall clock).

    Times after midnight count as morning: a clinic open then is the exception, and "morning"
    is still the word a person would use for 6:30 AM.
    """
    if local.hour < NOON_HOUR:
        return PartOfDay.MORNING
    if local.hour < EVENING_HOUR:
        return PartOfDay.AFTERNOON
    return PartOfDay.EVENING


def long_date(day: date) -> str:
    """A date as people write it: "Tuesday 3 March 2026"."""
    return f"{day:%A} {day.day} {day:%B} {day.year}"


def day_words(day: date, today: date) -> str:
    """A day heading: "Today", "Tomorrow", else "Wednesday 4 March" (a year only when it is not
    this year's: "Friday 1 January 2027")."""
    if day == today:
        return "Today"
    if day == today + timedelta(days=1):
        return "Tomorrow"
    text = f"{day:%A} {day.day} {day:%B}"
    return text if day.year == today.year else f"{text} {day.year}"


# --- types ---------------------------------------------------------------------------------------


class BookableType(Protocol):
    """What ordering and filtering read of a type (the stored row and the pure type both fit)."""

    @property
    def key(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def display_order(self) -> int: ...
    @property
    def patient_bookable(self) -> bool: ...


T = TypeVar("T", bound=BookableType)


def may_book(kind: BookableType, is_patient: bool) -> bool:
    """Whether the reader may book this type: staff any, patients only the patient-bookable ones."""
    return kind.patient_bookable or not is_patient


def types_for(kinds: Iterable[T], is_patient: bool) -> list[T]:
    """The types offered to a reader, in display order (then name, then key, so ties are stable)."""
    offered = [k for k in kinds if may_book(k, is_patient)]
    return sorted(offered, key=lambda k: (k.display_order, k.name.casefold(), k.key))


def booked_by_staff_words(name: str) -> str:
    """The refusal a patient reads for a type only staff book, with what to do instead."""
    lowered = name[:1].lower() + name[1:]
    article = "An" if lowered[:1] in "aeiou" else "A"
    return (
        f"{article} {lowered} is arranged by your therapist, so it cannot be booked online."
        " Please ask your therapist or call the clinic."
    )


# --- slots ---------------------------------------------------------------------------------------


S = TypeVar("S")


@dataclass(frozen=True)
class DayPart(Generic[S]):
    """The free times of one part of one day: the first few shown, the rest behind "More"."""

    part: PartOfDay
    shown: list[S]
    more: list[S]

    @property
    def count(self) -> int:
        """How many free times this part of the day has."""
        return len(self.shown) + len(self.more)


@dataclass(frozen=True)
class Day(Generic[S]):
    """One local day of free times, with its heading and its parts of day."""

    day: date
    heading: str
    parts: list[DayPart[S]]

    @property
    def date_text(self) -> str:
        """The date under a relative heading ("Tuesday 3 March" under "Tomorrow"), else ""."""
        if self.heading not in ("Today", "Tomorrow"):
            return ""
        return f"{self.day:%A} {self.day.day} {self.day:%B}"

    @property
    def count(self) -> int:
        """How many free times the day has."""
        return sum(p.count for p in self.parts)

    @property
    def more_count(self) -> int:
        """How many times are behind the day's "More times"."""
        return sum(len(p.more) for p in self.parts)


# Three times a part of day fit one row of buttons on a 390 px phone.
SHOWN_PER_PART = 3


def group_slots(
    slots: Sequence[S],
    local_start: Callable[[S], datetime],
    today: date,
    shown_per_part: int = SHOWN_PER_PART,
) -> list[Day[S]]:
    """Group slots (earliest first) by local day and part of day, keeping their order.

    Each part of day shows its first `shown_per_part` times; the rest go to `more`. Days and parts
    with no free time are left out, so the page never lists an empty "Evening".
    """
    by_day: dict[date, dict[PartOfDay, list[S]]] = {}
    for slot in slots:
        local = local_start(slot)
        by_day.setdefault(local.date(), {}).setdefault(part_of_day(local), []).append(slot)
    days: list[Day[S]] = []
    for day in sorted(by_day):
        parts = [
            DayPart(part, found[:shown_per_part], found[shown_per_part:])
            for part in PartOfDay
            if (found := by_day[day].get(part))
        ]
        days.append(Day(day, day_words(day, today), parts))
    return days


def first_per_start(slots: Sequence[S], start: Callable[[S], datetime]) -> list[S]:
    """One slot per start time (the first listed), for "Anyone available": two therapists free
    at 9:00 are one choice of time for the patient, not two buttons."""
    seen: set[datetime] = set()
    kept: list[S] = []
    for slot in slots:
        if (at := start(slot)) not in seen:
            seen.add(at)
            kept.append(slot)
    return kept


# --- policy --------------------------------------------------------------------------------------


def span_words(span: timedelta) -> str:
    """A policy span as people say it: "30 minutes", "2 hours", "24 hours"; whole days from two
    days on read as days ("3 days"), since "72 hours" makes the reader count."""
    minutes = int(span.total_seconds()) // 60
    if minutes % (24 * 60) == 0 and minutes >= 48 * 60:
        days = minutes // (24 * 60)
        return f"{days} days"
    hours, rest = divmod(minutes, 60)
    if rest or not hours:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{hours} hour{'s' if hours != 1 else ''}"


@dataclass(frozen=True)
class Policy:
    """A type's booking and cancellation policy, in sentences for the patient."""

    notice: str
    late_window: str


def policy_words(min_notice: timedelta, cancellation_cutoff: timedelta) -> Policy:
    """The policy of a type as the booking pages state it."""
    if min_notice > timedelta(0):
        notice = f"Book at least {span_words(min_notice)} ahead."
    else:
        notice = "You can book any free time shown."
    if cancellation_cutoff > timedelta(0):
        window = span_words(cancellation_cutoff)
        late = (
            f"You can move or cancel online until {window} before the visit. Later than that,"
            " please call the clinic: a cancellation then counts as a late cancellation."
        )
    else:
        late = "You can move or cancel online until the visit starts."
    return Policy(notice, late)


def inside_late_window(start: datetime, now: datetime, cancellation_cutoff: timedelta) -> bool:
    """Whether a visit starting at `start` is already inside its late-cancellation window at `now`:
    the same comparison lifecycle.is_late_cancellation and the move rule make (start - now < cutoff).
    """
    return start - now < cancellation_cutoff


def late_window_warning(
    start: datetime, now: datetime, cancellation_cutoff: timedelta
) -> str | None:
    """The confirm page's warning for a time inside the late-cancellation window, else None."""
    if not inside_late_window(start, now, cancellation_cutoff):
        return None
    return (
        f"This visit starts in less than {span_words(cancellation_cutoff)}. Once booked, it cannot"
        " be moved or cancelled online, and cancelling it would count as a late cancellation."
        " If you are not sure you can come, please choose a later time."
    )
