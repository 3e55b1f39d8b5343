"""Plan-of-care rules against hand-computed cases: the certified period, what a plan must say,
the progress-report clock, certification steps and which episode a visit counts in."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from telehealth.care import rules
from telehealth.care.rules import (
    CertificationEvent,
    CertificationKind,
    EpisodeWindow,
    Goal,
    GoalStatus,
    GoalTerm,
    PlanDraft,
)

START = date(2026, 3, 2)  # a Monday


def goal(**changes: object) -> Goal:
    base = Goal(
        id="g1",
        term=GoalTerm.LONG,
        text="Walk to the shops without pain",
        baseline="NPRS 6",
        target="NPRS 2",
        target_date=date(2026, 4, 10),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def draft(**changes: object) -> PlanDraft:
    base = PlanDraft(
        start_date=START,
        frequency_per_week=2,
        duration_weeks=6,
        duration_visits=None,
        amount_per_day=1,
        diagnoses=("M25.551",),
        interventions=("therapeutic-exercise",),
        modalities=("virtual",),
        goals=(goal(),),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def problems(d: PlanDraft) -> dict[str, str]:
    return rules.plan_problems(
        d,
        known_diagnosis=lambda code: code in {"M25.551", "M54.50"},
        known_intervention=lambda t: t in {"therapeutic-exercise", "joint-mobilization"},
    )


# --- the certified period ------------------------------------------------------------------------


def test_six_weeks_from_a_monday_end_on_the_sunday_of_the_sixth_week() -> None:
    # 2 Mar + 42 days - 1 = 12 Apr.
    assert rules.certification_end(draft()) == date(2026, 4, 12)


def test_twelve_visits_at_twice_a_week_are_six_weeks() -> None:
    assert rules.certification_end(draft(duration_weeks=None, duration_visits=12)) == date(
        2026, 4, 12
    )
    # 13 visits at twice a week need a seventh week: 2 Mar + 49 - 1 = 19 Apr.
    assert rules.certification_end(draft(duration_weeks=None, duration_visits=13)) == date(
        2026, 4, 19
    )


def test_a_long_plan_is_certified_for_ninety_days_at_most() -> None:
    # 2 Mar is day 1; day 90 is 30 May (Mar 30 days left + Apr 30 + May 30).
    assert rules.certification_end(draft(duration_weeks=16)) == date(2026, 5, 30)
    assert (date(2026, 5, 30) - START).days + 1 == 90


def test_planned_visits() -> None:
    assert rules.planned_visits(draft()) == 12
    assert rules.planned_visits(draft(duration_weeks=None, duration_visits=8)) == 8
    assert (
        rules.planned_visits(draft(amount_per_day=2, frequency_per_week=3, duration_weeks=4)) == 24
    )


# --- what a plan must say ------------------------------------------------------------------------


def test_a_complete_plan_has_no_problems() -> None:
    assert problems(draft()) == {}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"frequency_per_week": 0}, "frequency_per_week"),
        ({"frequency_per_week": 8}, "frequency_per_week"),
        ({"amount_per_day": 4}, "amount_per_day"),
        ({"duration_weeks": None}, "duration"),
        ({"duration_visits": 10}, "duration"),
        ({"duration_weeks": 53}, "duration"),
        ({"duration_weeks": None, "duration_visits": 101}, "duration"),
        ({"diagnoses": ()}, "diagnoses"),
        ({"diagnoses": ("M25.5",)}, "diagnoses"),
        ({"interventions": ()}, "interventions"),
        ({"interventions": ("reiki",)}, "interventions"),
        ({"modalities": ()}, "modalities"),
        ({"modalities": ("carrier-pigeon",)}, "modalities"),
        ({"goals": ()}, "goals"),
        ({"goals": (goal(term=GoalTerm.SHORT),)}, "goals"),
        ({"goals": (goal(), goal(id="g2", text=""))}, "goal_1"),
        ({"goals": (goal(target_date=date(2026, 3, 1)),)}, "goal_0"),
        ({"goals": (goal(text="x" * 301),)}, "goal_0"),
        ({"goals": tuple(goal(id=f"g{i}") for i in range(9))}, "goals"),
        ({"cert_end": date(2026, 5, 31)}, "cert_end"),
        ({"cert_end": date(2026, 3, 1)}, "cert_end"),
    ],
)
def test_each_missing_or_impossible_part_is_named(changes: dict[str, object], field: str) -> None:
    found = problems(draft(**changes))
    assert field in found, found


def test_a_certified_period_may_end_on_day_ninety() -> None:
    assert problems(draft(cert_end=date(2026, 5, 30))) == {}


def test_the_unknown_code_is_named_in_the_problem() -> None:
    assert "M25.5 is not a billable" in problems(draft(diagnoses=("M25.551", "M25.5")))["diagnoses"]


# --- the progress-report clock -------------------------------------------------------------------


def days(*numbers: int) -> list[date]:
    return [START + timedelta(days=n) for n in numbers]


def test_treatment_days_count_from_the_evaluation_day() -> None:
    clock = rules.progress_clock(days(0, 2, 4), [])
    assert clock.treatment_days == 3 and clock.status == "ok" and clock.last_report is None


def test_two_visits_on_one_date_are_one_treatment_day() -> None:
    assert rules.progress_clock(days(0, 0, 2), []).treatment_days == 2


@pytest.mark.parametrize(
    ("count", "status", "blocks"),
    [(7, "ok", False), (8, "soon", False), (9, "due", True), (10, "overdue", True)],
)
def test_warned_from_the_eighth_due_at_the_tenth(count: int, status: str, blocks: bool) -> None:
    clock = rules.progress_clock(days(*range(count)), [])
    assert (clock.status, clock.blocks_daily_notes) == (status, blocks)


def test_a_progress_report_starts_a_new_count_the_day_after() -> None:
    # Treatment on days 0..9; the report was written on day 9 (the 10th treatment day).
    clock = rules.progress_clock(days(*range(10), 11, 13), days(9))
    assert clock.treatment_days == 2 and clock.last_report == START + timedelta(days=9)


def test_the_latest_report_counts() -> None:
    clock = rules.progress_clock(days(1, 5, 9, 12), days(5, 2))
    assert clock.treatment_days == 2


def test_progress_words() -> None:
    assert rules.progress_clock(days(*range(8)), []).words == (
        "8 of 10 treatment days: progress report due within 2 visits"
    )
    assert (
        "the next visit needs a progress report" in rules.progress_clock(days(*range(9)), []).words
    )


# --- certification -------------------------------------------------------------------------------


def test_not_sent_yet() -> None:
    state = rules.certification_state(date(2026, 4, 12), date(2026, 3, 2), [])
    assert state.signature_words == "Not yet sent to the referring practitioner"
    assert state.days_left == 41 and not state.recertify_soon and not state.lapsed


def test_a_verbal_order_needs_its_signature_within_fourteen_days() -> None:
    events = [CertificationEvent(CertificationKind.VERBAL_ORDER, date(2026, 3, 3))]
    state = rules.certification_state(date(2026, 4, 12), date(2026, 3, 17), events)
    assert state.signature_due == date(2026, 3, 17)
    assert "(overdue)" not in state.signature_words
    late = rules.certification_state(date(2026, 4, 12), date(2026, 3, 18), events)
    assert late.signature_words.endswith("(overdue)")


def test_signed_or_order_on_file_certifies() -> None:
    for kind in (CertificationKind.SIGNED, CertificationKind.ORDER_ON_FILE):
        events = [
            CertificationEvent(CertificationKind.VERBAL_ORDER, date(2026, 3, 3)),
            CertificationEvent(kind, date(2026, 3, 10)),
        ]
        state = rules.certification_state(date(2026, 4, 12), date(2026, 3, 20), events)
        assert state.signature_due is None and state.signed is not None


def test_recertification_is_flagged_fourteen_days_ahead_and_after_it_lapses() -> None:
    end = date(2026, 4, 12)
    assert not rules.certification_state(end, date(2026, 3, 28), []).recertify_soon
    assert rules.certification_state(end, date(2026, 3, 29), []).recertify_soon
    assert rules.certification_state(end, end, []).period_words == (
        "Certification ends today: recertify"
    )
    lapsed = rules.certification_state(end, date(2026, 4, 15), [])
    assert lapsed.lapsed and lapsed.period_words == "Certification ended 3 days ago: recertify"


# --- which episode a visit counts in -------------------------------------------------------------

HIP, NECK = uuid.uuid4(), uuid.uuid4()


def at(day: int, hour: int = 15) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


def test_a_visit_counts_in_the_only_episode_open_then() -> None:
    windows = [EpisodeWindow(HIP, at(2), at(20)), EpisodeWindow(NECK, at(21), None)]
    assert rules.episode_of_visit(at(5), None, windows) == HIP
    assert rules.episode_of_visit(at(25), None, windows) == NECK
    assert rules.episode_of_visit(at(1, 9), None, windows) is None


def test_two_open_episodes_leave_a_visit_unplaced_until_linked() -> None:
    windows = [EpisodeWindow(HIP, at(2), None), EpisodeWindow(NECK, at(3), None)]
    assert rules.episode_of_visit(at(5), None, windows) is None
    assert rules.episode_of_visit(at(5), NECK, windows) == NECK


def test_the_evaluation_that_opened_an_episode_counts_in_it() -> None:
    # The evaluation began at 15:00; the therapist opened the episode at 15:40 that day.
    windows = [EpisodeWindow(HIP, at(2, 15) + timedelta(minutes=40), None)]
    assert rules.episode_of_visit(at(2, 15), None, windows) == HIP


def test_words() -> None:
    assert rules.frequency_words(2, 1) == "twice a week"
    assert rules.frequency_words(1, 2) == "once a week, twice a day"
    assert rules.frequency_words(3, 1) == "3 times a week"
    assert rules.duration_words(6, None) == "for 6 weeks"
    assert rules.duration_words(None, 1) == "for 1 visit"
    assert GoalStatus.PARTLY_MET.words == "partly met"


# --- booking within the plan ---------------------------------------------------------------------

PLAN = rules.PlanWindow(start_date=START, cert_end=date(2026, 4, 12), visits_per_week=2)


@pytest.mark.parametrize(
    ("day", "week_visits", "lapse_blocks", "refusal"),
    [
        (date(2026, 3, 4), 0, True, None),
        (date(2026, 3, 4), 1, True, None),
        (date(2026, 3, 4), 2, True, "frequency"),
        (date(2026, 3, 1), 0, True, "no_plan"),  # the day before the plan starts
        (date(2026, 4, 12), 0, True, None),  # the certified period's last day
        (date(2026, 4, 13), 0, True, "lapsed"),
        (date(2026, 4, 13), 0, False, None),
        (date(2026, 4, 13), 2, False, "frequency"),
    ],
)
def test_booking_within_the_plan(
    day: date, week_visits: int, lapse_blocks: bool, refusal: str | None
) -> None:
    assert rules.booking_refusal(day, [PLAN], week_visits, lapse_blocks) == refusal


def test_no_plan_at_all_and_the_roomier_of_two_plans() -> None:
    assert rules.booking_refusal(date(2026, 3, 4), [], 0, True) == "no_plan"
    neck = rules.PlanWindow(date(2026, 3, 2), date(2026, 3, 29), 3)
    assert rules.booking_refusal(date(2026, 3, 4), [PLAN, neck], 2, True) is None
    assert rules.booking_refusal(date(2026, 3, 4), [PLAN, neck], 3, True) == "frequency"


def test_weeks_run_monday_to_sunday() -> None:
    assert rules.week_of(date(2026, 3, 8)) == (date(2026, 3, 2), date(2026, 3, 8))
    assert rules.week_of(date(2026, 3, 2)) == (date(2026, 3, 2), date(2026, 3, 8))


# --- a series from the plan ----------------------------------------------------------------------


def test_a_series_follows_the_plan() -> None:
    # Twice a week, 2 Mar to 12 Apr: six weeks from 2 Mar end on 12 Apr exactly.
    assert rules.series_problems(PLAN, frozenset({0, 3}), START, 6) == {}
    assert rules.weeks_left(START, date(2026, 4, 12)) == 6
    assert rules.weeks_left(date(2026, 3, 4), date(2026, 4, 12)) == 5
    assert rules.weeks_left(date(2026, 4, 10), date(2026, 4, 12)) == 1


@pytest.mark.parametrize(
    ("weekdays", "first_day", "weeks", "field"),
    [
        (frozenset(), START, 6, "weekdays"),
        (frozenset({0, 2, 4}), START, 6, "weekdays"),
        (frozenset({0}), date(2026, 3, 1), 1, "first_day"),
        (frozenset({0}), date(2026, 4, 13), 1, "first_day"),
        (frozenset({0}), START, 7, "weeks"),
        (frozenset({0}), START, 0, "weeks"),
        (frozenset({0}), date(2026, 3, 4), 6, "weeks"),
    ],
)
def test_a_series_outside_the_plan_is_named(
    weekdays: frozenset[int], first_day: date, weeks: int, field: str
) -> None:
    assert field in rules.series_problems(PLAN, weekdays, first_day, weeks)


def test_suggested_days_match_the_frequency() -> None:
    assert all(len(days) == n for n, days in rules.SUGGESTED_WEEKDAYS.items())
