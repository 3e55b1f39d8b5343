"""Appointment types: what can be booked, how long it takes and the timing policy around it.

A type is validated data. The seeded catalogue below is what a fresh clinic starts with; the
database later holds the editable copy, and every edit goes through the same constructor checks
(``dataclasses.replace`` re-runs them), so an invalid type cannot exist in memory.

Decisions worth knowing:

* The free screening is **virtual only**: it is a 20-minute conversation to decide whether physical
  therapy fits, needs no hands-on examination, and must not take a treatment room from paid visits.
* **Billable evaluations** are the initial evaluation and the re-evaluation (the evaluation codes
  bill per encounter); follow-ups bill per treatment and the discharge visit closes the plan.
* ``buffer_before`` is preparation (chart review, room set-up) and ``buffer_after`` is documentation
  and turnover. They belong to the therapist's working time, so a slot's buffers must fit inside
  availability too, and the buffers of neighbouring appointments add up rather than overlap.
* ``min_notice``, ``booking_horizon`` and ``cancellation_cutoff`` are measured from "now" to the
  appointment start.
* ``patient_bookable`` says whether patients may book the type themselves. The re-evaluation and the
  discharge visit are the therapist's decision (they depend on the plan of care), so patients never
  see them offered; staff still book them for a patient through the admin calendar.
* ``display_order`` is the order people read the types in (lowest first): the visits most patients
  come for first, not the alphabetical order of their keys.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from types import MappingProxyType

from telehealth.errors import InvalidInput

_KEY = re.compile(r"^[a-z][a-z0-9_]{1,47}$")
_MINUTE = timedelta(minutes=1)
# A longer visit is a data-entry mistake (minutes typed as hours), not a physical-therapy visit.
MAX_DURATION = timedelta(hours=4)
MAX_BUFFER = timedelta(hours=2)
MAX_HORIZON = timedelta(days=366)
# A type added without an order sorts after the seeded ones (which use 10 to 50).
DEFAULT_DISPLAY_ORDER = 100
MAX_DISPLAY_ORDER = 10_000


class Modality(StrEnum):
    """Where the visit happens."""

    VIRTUAL = "virtual"
    IN_CLINIC = "in_clinic"


@dataclass(frozen=True, slots=True)
class AppointmentType:
    """A kind of visit with its duration, buffers and booking policy; validates itself."""

    key: str
    name: str
    duration: timedelta
    buffer_before: timedelta
    buffer_after: timedelta
    min_notice: timedelta
    booking_horizon: timedelta
    cancellation_cutoff: timedelta
    modalities: frozenset[Modality]
    billable_evaluation: bool = False
    description: str = field(default="", compare=False)
    patient_bookable: bool = True
    display_order: int = DEFAULT_DISPLAY_ORDER
    # Patients book it only inside an active plan of care, within the plan's weekly frequency
    # (the plan-of-care feature's guard decides; scheduling only asks).
    within_plan: bool = False

    def __post_init__(self) -> None:
        # Rows from the database carry plain strings; accept them as the enum they name.
        try:
            coerced = frozenset(Modality(m) for m in self.modalities)
        except (TypeError, ValueError):
            coerced = None
        if coerced is not None:
            object.__setattr__(self, "modalities", coerced)
        problems = _type_problems(self)
        if problems:
            raise InvalidInput(
                f"appointment type {self.key!r} is invalid: " + "; ".join(problems),
                details={"problems": problems},
            )

    @property
    def blocked_length(self) -> timedelta:
        """Time the type occupies in a calendar: buffers plus the visit itself."""
        return self.buffer_before + self.duration + self.buffer_after

    def allows(self, modality: Modality) -> bool:
        """Whether the type may be booked with this modality."""
        return modality in self.modalities


def _type_problems(t: AppointmentType) -> list[str]:
    problems: list[str] = []
    if not isinstance(t.key, str) or not _KEY.match(t.key):
        problems.append(
            "key must be 2-48 characters of lowercase letters, digits and '_',"
            " starting with a letter"
        )
    if not isinstance(t.name, str) or not t.name.strip():
        problems.append("name must not be empty")
    elif len(t.name) > 120:
        problems.append("name must be at most 120 characters")
    if t.duration <= timedelta(0):
        problems.append("duration must be positive")
    elif t.duration > MAX_DURATION:
        problems.append(f"duration must be at most {MAX_DURATION}")
    for label, value in (("buffer_before", t.buffer_before), ("buffer_after", t.buffer_after)):
        if value < timedelta(0):
            problems.append(f"{label} must not be negative")
        elif value > MAX_BUFFER:
            problems.append(f"{label} must be at most {MAX_BUFFER}")
    for label, value in (
        ("duration", t.duration),
        ("buffer_before", t.buffer_before),
        ("buffer_after", t.buffer_after),
    ):
        if value % _MINUTE:
            problems.append(f"{label} must be whole minutes")
    if t.min_notice < timedelta(0):
        problems.append("min_notice must not be negative")
    if t.cancellation_cutoff < timedelta(0):
        problems.append("cancellation_cutoff must not be negative")
    if t.booking_horizon <= t.min_notice:
        problems.append("booking_horizon must be longer than min_notice")
    elif t.booking_horizon > MAX_HORIZON:
        problems.append(f"booking_horizon must be at most {MAX_HORIZON.days} days")
    if (
        isinstance(t.display_order, bool)
        or not isinstance(t.display_order, int)
        or not 0 <= t.display_order <= MAX_DISPLAY_ORDER
    ):
        problems.append(f"display_order must be a whole number from 0 to {MAX_DISPLAY_ORDER}")
    if not t.modalities:
        problems.append("at least one modality (virtual, in_clinic) is required")
    elif not all(isinstance(m, Modality) for m in t.modalities):
        problems.append("modalities must be 'virtual' and/or 'in_clinic'")
    return problems


def _minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


BOTH = frozenset({Modality.VIRTUAL, Modality.IN_CLINIC})

FREE_SCREENING = AppointmentType(
    key="free_screening",
    name="Free screening",
    duration=_minutes(20),
    buffer_before=_minutes(0),
    buffer_after=_minutes(10),
    min_notice=timedelta(hours=2),
    booking_horizon=timedelta(days=30),
    cancellation_cutoff=timedelta(hours=2),
    modalities=frozenset({Modality.VIRTUAL}),
    description="A short video conversation to find out whether physical therapy can help.",
    display_order=30,
)
INITIAL_EVALUATION = AppointmentType(
    key="initial_evaluation",
    name="Initial evaluation",
    duration=_minutes(60),
    buffer_before=_minutes(10),
    buffer_after=_minutes(15),
    min_notice=timedelta(hours=24),
    booking_horizon=timedelta(days=60),
    cancellation_cutoff=timedelta(hours=24),
    modalities=BOTH,
    billable_evaluation=True,
    description="History, examination, diagnosis and the plan of care.",
    display_order=10,
)
FOLLOW_UP = AppointmentType(
    key="follow_up",
    name="Follow-up visit",
    duration=_minutes(45),
    buffer_before=_minutes(0),
    buffer_after=_minutes(15),
    min_notice=timedelta(hours=12),
    booking_horizon=timedelta(days=90),
    cancellation_cutoff=timedelta(hours=24),
    modalities=BOTH,
    description="Treatment and exercise progression within the plan of care.",
    display_order=20,
)
RE_EVALUATION = AppointmentType(
    key="re_evaluation",
    name="Re-evaluation",
    duration=_minutes(45),
    buffer_before=_minutes(10),
    buffer_after=_minutes(15),
    min_notice=timedelta(hours=24),
    booking_horizon=timedelta(days=90),
    cancellation_cutoff=timedelta(hours=24),
    modalities=BOTH,
    billable_evaluation=True,
    description="Measuring progress against the goals and updating the plan of care.",
    display_order=40,
    patient_bookable=False,
)
DISCHARGE = AppointmentType(
    key="discharge",
    name="Discharge visit",
    duration=_minutes(30),
    buffer_before=_minutes(0),
    buffer_after=_minutes(15),
    min_notice=timedelta(hours=24),
    booking_horizon=timedelta(days=90),
    cancellation_cutoff=timedelta(hours=24),
    modalities=BOTH,
    description="Final measurements and the home programme to keep going alone.",
    display_order=50,
    patient_bookable=False,
)

SEEDED_TYPES: tuple[AppointmentType, ...] = (
    FREE_SCREENING,
    INITIAL_EVALUATION,
    FOLLOW_UP,
    RE_EVALUATION,
    DISCHARGE,
)


def types_by_key(types: Iterable[AppointmentType]) -> Mapping[str, AppointmentType]:
    """Index types by key, refusing duplicate keys."""
    index: dict[str, AppointmentType] = {}
    for t in types:
        if t.key in index:
            raise InvalidInput(f"duplicate appointment type key {t.key!r}")
        index[t.key] = t
    return MappingProxyType(index)


SEEDED_BY_KEY: Mapping[str, AppointmentType] = types_by_key(SEEDED_TYPES)


def lookup_type(key: str, types: Mapping[str, AppointmentType] = SEEDED_BY_KEY) -> AppointmentType:
    """Return the type with this key or raise InvalidInput naming the known keys."""
    found = types.get(key) if isinstance(key, str) else None
    if found is None:
        known = ", ".join(sorted(types))
        raise InvalidInput(
            f"unknown appointment type {key!r}; known types: {known}",
            details={"field": "appointment_type", "known": sorted(types)},
        )
    return found


def parse_modality(value: str, appointment_type: AppointmentType) -> Modality:
    """Return the modality named by value if the type allows it, else raise InvalidInput."""
    try:
        modality = Modality(value)
    except ValueError:
        raise InvalidInput(
            f"unknown modality {value!r}; use 'virtual' or 'in_clinic'",
            details={"field": "modality"},
        ) from None
    if not appointment_type.allows(modality):
        allowed = ", ".join(sorted(m.value for m in appointment_type.modalities))
        raise InvalidInput(
            f"{appointment_type.name} cannot be booked as {modality.value}; allowed: {allowed}",
            details={"field": "modality", "allowed": sorted(appointment_type.modalities)},
        )
    return modality
