"""Plan-of-care rules: what a plan must say, its certification period, the progress-report clock
and which episode a visit counts in. Pure functions: no I/O, no clock.

The defaults follow Medicare's rules for outpatient therapy (Benefit Policy Manual ch. 15,
§220.1-220.3), which most US payers copy; docs/care.md says which parts are payer-specific.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

# A certification covers at most 90 calendar days, the start date being the first.
CERTIFICATION_MAX_DAYS = 90
# A progress report is due at least once every 10 treatment days; the caseload warns from the
# 8th so the report can be planned into a visit, not discovered after it.
PROGRESS_REPORT_EVERY = 10
PROGRESS_WARN_FROM = 8
# Recertification is flagged this many days before the certified period ends.
RECERTIFY_WARN_DAYS = 14
# A verbal order must be followed by the practitioner's signature within 14 days.
VERBAL_ORDER_SIGNATURE_DAYS = 14

MAX_GOALS = 8
MAX_TEXT = 300
MODALITIES: dict[str, str] = {"virtual": "video visits", "in_clinic": "visits at the clinic"}


class GoalTerm(StrEnum):
    """Short-term goals lead to the long-term ones a plan must have."""

    SHORT = "short"
    LONG = "long"


class GoalStatus(StrEnum):
    """Where a goal stands; a met goal keeps its identity and its record."""

    IN_PROGRESS = "in_progress"
    MET = "met"
    PARTLY_MET = "partly_met"
    NOT_MET = "not_met"
    DISCONTINUED = "discontinued"

    @property
    def words(self) -> str:
        """The status as people say it."""
        return self.value.replace("_", " ")


class CertificationKind(StrEnum):
    """The steps of certifying a plan with the referring practitioner."""

    SENT = "sent"
    SIGNED = "signed"
    VERBAL_ORDER = "verbal_order"
    # Since 2025 a signed order or referral on file, with the plan sent within 30 days of the
    # evaluation, certifies the initial plan when the practitioner does not object.
    ORDER_ON_FILE = "order_on_file"

    @property
    def words(self) -> str:
        """The step as people say it."""
        return _CERTIFICATION_WORDS[self]


_CERTIFICATION_WORDS = {
    CertificationKind.SENT: "Plan sent to the referring practitioner",
    CertificationKind.SIGNED: "Signed by the referring practitioner",
    CertificationKind.VERBAL_ORDER: "Verbal order taken",
    CertificationKind.ORDER_ON_FILE: "Signed order on file (plan sent, no objection)",
}


@dataclass(frozen=True)
class Goal:
    """A measurable goal: where the patient starts, where the plan aims, by when."""

    id: str
    term: GoalTerm
    text: str
    baseline: str
    target: str
    target_date: date
    measure: str = ""
    status: GoalStatus = GoalStatus.IN_PROGRESS

    def as_data(self) -> dict[str, str]:
        """The goal as a plan version stores it (JSON)."""
        return {
            "id": self.id,
            "term": self.term.value,
            "text": self.text,
            "baseline": self.baseline,
            "target": self.target,
            "target_date": self.target_date.isoformat(),
            "measure": self.measure,
            "status": self.status.value,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, object]) -> Goal:
        """A goal as a plan version stored it."""
        return cls(
            id=str(data["id"]),
            term=GoalTerm(str(data["term"])),
            text=str(data["text"]),
            baseline=str(data["baseline"]),
            target=str(data["target"]),
            target_date=date.fromisoformat(str(data["target_date"])),
            measure=str(data.get("measure", "")),
            status=GoalStatus(str(data.get("status", GoalStatus.IN_PROGRESS.value))),
        )


@dataclass(frozen=True)
class PlanDraft:
    """A plan of care as written, before it is stored as a version."""

    start_date: date
    frequency_per_week: int
    duration_weeks: int | None
    duration_visits: int | None
    amount_per_day: int
    diagnoses: tuple[str, ...]
    interventions: tuple[str, ...]
    modalities: tuple[str, ...]
    goals: tuple[Goal, ...]
    # None: the longest period the duration and the 90-day limit allow.
    cert_end: date | None = None


def certification_end(draft: PlanDraft) -> date:
    """The last day of the certified period: the plan's duration, at most 90 days."""
    limit = draft.start_date + timedelta(days=CERTIFICATION_MAX_DAYS - 1)
    if draft.duration_weeks is not None:
        weeks = draft.duration_weeks
    else:
        visits = draft.duration_visits or 1
        weeks = math.ceil(visits / max(draft.frequency_per_week, 1))
    planned = draft.start_date + timedelta(days=weeks * 7 - 1)
    return min(planned, limit)


def planned_visits(draft: PlanDraft) -> int:
    """How many visits the plan provides for."""
    if draft.duration_visits is not None:
        return draft.duration_visits
    return (draft.duration_weeks or 0) * draft.frequency_per_week * draft.amount_per_day


def plan_problems(
    draft: PlanDraft,
    known_diagnosis: Callable[[str], bool],
    known_intervention: Callable[[str], bool],
) -> dict[str, str]:
    """What keeps the draft from being a plan, by form field, in words; empty when it is one."""
    problems: dict[str, str] = {}
    if not 1 <= draft.frequency_per_week <= 7:
        problems["frequency_per_week"] = "Give how many times a week, from 1 to 7."
    if not 1 <= draft.amount_per_day <= 3:
        problems["amount_per_day"] = "Give how many sessions a day, from 1 to 3."
    if (draft.duration_weeks is None) == (draft.duration_visits is None):
        problems["duration"] = "Give the duration in weeks or in visits (one of the two)."
    elif draft.duration_weeks is not None and not 1 <= draft.duration_weeks <= 52:
        problems["duration"] = "Give a duration from 1 to 52 weeks."
    elif draft.duration_visits is not None and not 1 <= draft.duration_visits <= 100:
        problems["duration"] = "Give a duration from 1 to 100 visits."
    if not draft.diagnoses:
        problems["diagnoses"] = "Give at least one diagnosis (an ICD-10-CM code)."
    else:
        unknown = [code for code in draft.diagnoses if not known_diagnosis(code)]
        if unknown:
            problems["diagnoses"] = (
                f"{', '.join(unknown)} is not a billable ICD-10-CM code. Check the code."
            )
    if not draft.interventions:
        problems["interventions"] = "Choose at least one planned intervention."
    elif not all(known_intervention(i) for i in draft.interventions):
        problems["interventions"] = "Choose interventions from the list."
    if not draft.modalities:
        problems["modalities"] = "Choose how the visits are held."
    elif not set(draft.modalities) <= set(MODALITIES):
        problems["modalities"] = "Choose how the visits are held from the list."
    problems.update(_goal_problems(draft))
    if draft.cert_end is not None and "duration" not in problems:
        longest = draft.start_date + timedelta(days=CERTIFICATION_MAX_DAYS - 1)
        if not draft.start_date <= draft.cert_end <= longest:
            problems["cert_end"] = (
                f"The certified period ends on or after the start, at most "
                f"{CERTIFICATION_MAX_DAYS} days in (by {longest:%d %b %Y})."
            )
    return problems


def _goal_problems(draft: PlanDraft) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not any(g.term is GoalTerm.LONG for g in draft.goals):
        problems["goals"] = "Write at least one long-term goal."
    if len(draft.goals) > MAX_GOALS:
        problems["goals"] = f"Write at most {MAX_GOALS} goals."
    for index, goal in enumerate(draft.goals):
        where = f"goal_{index}"
        if not goal.text or not goal.baseline or not goal.target:
            problems[where] = "Each goal needs what it is, where it starts and its target."
        elif max(len(goal.text), len(goal.baseline), len(goal.target)) > MAX_TEXT:
            problems[where] = f"Keep each part of a goal under {MAX_TEXT} characters."
        elif goal.target_date < draft.start_date:
            problems[where] = "A goal's target date cannot be before the plan starts."
    return problems


@dataclass(frozen=True)
class ProgressClock:
    """Treatment days counted since the last progress report, and what that asks for now."""

    days: frozenset[date]
    last_report: date | None

    @property
    def treatment_days(self) -> int:
        """How many treatment days the current period has counted."""
        return len(self.days)

    @property
    def status(self) -> str:
        """ok, soon (warned from the 8th), due (the next visit is the 10th) or overdue."""
        if self.treatment_days >= PROGRESS_REPORT_EVERY:
            return "overdue"
        if self.treatment_days >= PROGRESS_REPORT_EVERY - 1:
            return "due"
        if self.treatment_days >= PROGRESS_WARN_FROM:
            return "soon"
        return "ok"

    @property
    def words(self) -> str:
        """For the caseload and the episode page."""
        counted = f"{self.treatment_days} of {PROGRESS_REPORT_EVERY} treatment days"
        return {
            "ok": counted,
            "soon": f"{counted}: progress report due within "
            f"{PROGRESS_REPORT_EVERY - self.treatment_days} visits",
            "due": f"{counted}: the next visit needs a progress report",
            "overdue": f"{counted}: progress report overdue",
        }[self.status]

    @property
    def blocks_daily_notes(self) -> bool:
        """Whether a daily note written now would be the 10th treatment day without a report."""
        return self.treatment_days >= PROGRESS_REPORT_EVERY - 1


def progress_clock(treatment_days: Iterable[date], report_days: Iterable[date]) -> ProgressClock:
    """Count an episode's treatment days (dates with a billable service) since its last progress
    report or re-evaluation. The first period begins with the first treatment day (the
    evaluation's); a report's own day closes its period, so counting starts the day after."""
    last = max(report_days, default=None)
    days = frozenset(d for d in treatment_days if last is None or d > last)
    return ProgressClock(days=days, last_report=last)


@dataclass(frozen=True)
class CertificationEvent:
    """One certification step of a plan version."""

    kind: CertificationKind
    on_date: date
    practitioner: str = ""


@dataclass(frozen=True)
class CertificationState:
    """Whether the plan in force is certified, and how long its period still runs."""

    cert_end: date
    today: date
    signed: CertificationEvent | None
    verbal: CertificationEvent | None
    sent: CertificationEvent | None
    notes: tuple[str, ...] = field(default=())

    @property
    def days_left(self) -> int:
        """Days until the certified period ends (negative: ended that many days ago)."""
        return (self.cert_end - self.today).days

    @property
    def lapsed(self) -> bool:
        """The certified period has ended."""
        return self.days_left < 0

    @property
    def recertify_soon(self) -> bool:
        """Within the warning window before the period ends."""
        return 0 <= self.days_left <= RECERTIFY_WARN_DAYS

    @property
    def signature_due(self) -> date | None:
        """When a verbal order's signature is due, while it is still missing."""
        if self.signed is None and self.verbal is not None:
            return self.verbal.on_date + timedelta(days=VERBAL_ORDER_SIGNATURE_DAYS)
        return None

    @property
    def signature_words(self) -> str:
        """The certification's step, as the caseload shows it."""
        if self.signed is not None:
            return f"{self.signed.kind.words} on {self.signed.on_date:%d %b %Y}"
        due = self.signature_due
        if due is not None:
            late = " (overdue)" if self.today > due else ""
            return f"Verbal order on {self.verbal.on_date:%d %b %Y}; signature due {due:%d %b %Y}{late}"  # type: ignore[union-attr]
        if self.sent is not None:
            return f"Sent on {self.sent.on_date:%d %b %Y}; awaiting signature"
        return "Not yet sent to the referring practitioner"

    @property
    def period_words(self) -> str:
        """Days left or days expired."""
        if self.lapsed:
            return f"Certification ended {-self.days_left} days ago: recertify"
        if self.days_left == 0:
            return "Certification ends today: recertify"
        return f"Certified until {self.cert_end:%d %b %Y} ({self.days_left} days left)"


def certification_state(
    cert_end: date, today: date, events: Sequence[CertificationEvent]
) -> CertificationState:
    """The certification of one plan version from its steps, the latest of each kind counting."""

    def latest(*kinds: CertificationKind) -> CertificationEvent | None:
        found = [e for e in events if e.kind in kinds]
        return max(found, key=lambda e: e.on_date, default=None)

    return CertificationState(
        cert_end=cert_end,
        today=today,
        signed=latest(CertificationKind.SIGNED, CertificationKind.ORDER_ON_FILE),
        verbal=latest(CertificationKind.VERBAL_ORDER),
        sent=latest(CertificationKind.SENT),
    )


@dataclass(frozen=True)
class EpisodeWindow:
    """When an episode was open: from its opening until its discharge (None: still open)."""

    episode_id: uuid.UUID
    opened_at: datetime
    closed_at: datetime | None

    def holds(self, moment: datetime) -> bool:
        """Whether a visit at that moment falls inside the window."""
        return self.opened_at <= moment and (self.closed_at is None or moment <= self.closed_at)


def episode_of_visit(
    visit_start: datetime, linked: uuid.UUID | None, windows: Sequence[EpisodeWindow]
) -> uuid.UUID | None:
    """The episode a visit counts in: the one it was linked to, else the only episode open at
    its time. Two open episodes (hip and neck) leave it unassigned until someone links it.

    A visit booked shortly before its episode was opened (the evaluation that opened it) counts
    in the episode that opened first after it on the same day.
    """
    if linked is not None:
        return linked
    holding = [w.episode_id for w in windows if w.holds(visit_start)]
    if len(holding) == 1:
        return holding[0]
    if holding:
        return None
    same_day = [
        w
        for w in windows
        if w.opened_at.date() == visit_start.date() and w.opened_at >= visit_start
    ]
    if len(same_day) == 1:
        return same_day[0].episode_id
    return None


def frequency_words(frequency_per_week: int, amount_per_day: int) -> str:
    """ "2 times a week", "once a week, twice a day"."""
    times = {1: "once", 2: "twice"}.get(frequency_per_week, f"{frequency_per_week} times")
    words = f"{times} a week"
    if amount_per_day > 1:
        words += ", " + {2: "twice", 3: "3 times"}[amount_per_day] + " a day"
    return words


def duration_words(draft_weeks: int | None, draft_visits: int | None) -> str:
    """ "for 6 weeks", "for 12 visits"."""
    if draft_weeks is not None:
        return f"for {draft_weeks} week{'s' if draft_weeks != 1 else ''}"
    visits = draft_visits or 0
    return f"for {visits} visit{'s' if visits != 1 else ''}"


@dataclass(frozen=True)
class PlanWindow:
    """A plan in force for booking: its dates and how many visits a week it provides for."""

    start_date: date
    cert_end: date
    visits_per_week: int


def booking_refusal(
    day: date, plans: Sequence[PlanWindow], week_visits: int, lapse_blocks: bool
) -> str | None:
    """Why a patient may not book a within-plan visit on `day` (its local date), or None.

    `plans` are the patient's active episodes' plans in force; `week_visits` counts the patient's
    other visits in the same Monday-to-Sunday week. A plan covers a day from its start to its
    certified end; after that it has lapsed (a refusal only when `lapse_blocks`, the Medicare
    default, since a visit after the period is not covered until the plan is recertified).
    """
    started = [p for p in plans if p.start_date <= day]
    if not started:
        return "no_plan"
    covering = [p for p in started if day <= p.cert_end]
    if not covering:
        if lapse_blocks:
            return "lapsed"
        covering = started
    if week_visits >= max(p.visits_per_week for p in covering):
        return "frequency"
    return None


def week_of(day: date) -> tuple[date, date]:
    """The Monday and the Sunday of the week holding `day`."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


# Weekdays a series of n visits a week falls on by default: spread through the week.
SUGGESTED_WEEKDAYS: dict[int, tuple[int, ...]] = {
    1: (1,),
    2: (0, 3),
    3: (0, 2, 4),
    4: (0, 1, 3, 4),
    5: (0, 1, 2, 3, 4),
    6: (0, 1, 2, 3, 4, 5),
    7: (0, 1, 2, 3, 4, 5, 6),
}


def weeks_left(first_day: date, cert_end: date) -> int:
    """Whole weeks from the first day that end within the certified period (at least 1)."""
    return max(1, ((cert_end - first_day).days + 1) // 7)


def series_problems(
    plan: PlanWindow, weekdays: frozenset[int], first_day: date, weeks: int
) -> dict[str, str]:
    """What keeps a weekly series from following the plan, by form field; empty when it does:
    on at most as many weekdays as the plan's frequency, from the plan's start, and ending
    within its certified period."""
    problems: dict[str, str] = {}
    if not weekdays:
        problems["weekdays"] = "Choose the days of the week."
    elif len(weekdays) > plan.visits_per_week:
        problems["weekdays"] = (
            f"The plan provides for {plan.visits_per_week} a week: choose at most"
            f" {plan.visits_per_week} days."
        )
    if first_day < plan.start_date:
        problems["first_day"] = f"The plan starts on {plan.start_date:%d %b %Y}."
    elif first_day > plan.cert_end:
        problems["first_day"] = f"The certified period ends on {plan.cert_end:%d %b %Y}."
    elif not 1 <= weeks <= 52:
        problems["weeks"] = "Give from 1 to 52 weeks."
    elif first_day + timedelta(days=weeks * 7 - 1) > plan.cert_end:
        most = weeks_left(first_day, plan.cert_end)
        problems["weeks"] = (
            f"That runs past the certified period (to {plan.cert_end:%d %b %Y}): at most"
            f" {most} week{'s' if most != 1 else ''} from that day."
        )
    return problems
