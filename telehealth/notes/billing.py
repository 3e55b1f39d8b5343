"""Billing units of a visit by the CMS 8-minute rule, and the telehealth claim constants."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from telehealth.catalog.loader import Catalog
from telehealth.notes.rules import NoteContent

UNIT_MINUTES = 15
MIN_BILLABLE_MINUTES = 8

# Claim constants for the later claim export: modifier 95 marks a synchronous audio-video
# telehealth service, GP marks it as delivered under a physical-therapy plan of care.
MODIFIER_TELEHEALTH = "95"
MODIFIER_PHYSICAL_THERAPY = "GP"
TELEHEALTH_MODIFIERS: tuple[str, ...] = (MODIFIER_TELEHEALTH, MODIFIER_PHYSICAL_THERAPY)
# Place of service: 10 when the patient is at home, 02 when somewhere else.
PLACE_OF_SERVICE_TELEHEALTH_HOME = "10"
PLACE_OF_SERVICE_TELEHEALTH_OTHER = "02"


@dataclass(frozen=True)
class BillingLine:
    """Units billed for one CPT code and the minutes recorded against it."""

    cpt: str
    units: int
    minutes: int
    timed: bool


@dataclass(frozen=True)
class BillingSummary:
    """The billing lines of one visit (timed codes first, by CPT) and their totals."""

    lines: tuple[BillingLine, ...]
    timed_minutes: int
    timed_units: int
    untimed_units: int

    @property
    def total_units(self) -> int:
        """All units, timed and untimed."""
        return self.timed_units + self.untimed_units


def units_for_minutes(total_minutes: int) -> int:
    """Timed units for the total timed minutes of a day: 8-22 -> 1, 23-37 -> 2, ... (<8 -> 0)."""
    if total_minutes < 0:
        raise ValueError("minutes cannot be negative")
    if total_minutes < MIN_BILLABLE_MINUTES:
        return 0
    # Each unit is 15 minutes, and a final part-unit counts once it reaches 8 minutes.
    return (total_minutes + UNIT_MINUTES - MIN_BILLABLE_MINUTES) // UNIT_MINUTES


def allocate_timed_units(minutes_by_cpt: Mapping[str, int]) -> dict[str, int]:
    """Spread the day's timed units over the codes the CMS way; codes given no unit are omitted.

    Each code first gets its whole 15-minute units; the units left over go, one each, to the
    codes with the most minutes remaining. CMS lets either code be billed on a tie; we break
    ties by more total minutes on the code, then by the lower CPT code, so the result is
    deterministic.
    """
    if any(m < 0 for m in minutes_by_cpt.values()):
        raise ValueError("minutes cannot be negative")
    total_units = units_for_minutes(sum(minutes_by_cpt.values()))
    units = {cpt: m // UNIT_MINUTES for cpt, m in minutes_by_cpt.items()}
    left = total_units - sum(units.values())
    # With every remainder under 15 minutes, the left-over units never outnumber the codes that
    # have a remainder, so one extra unit per code is always enough.
    by_remainder = sorted(
        (cpt for cpt, m in minutes_by_cpt.items() if m % UNIT_MINUTES),
        key=lambda cpt: (-(minutes_by_cpt[cpt] % UNIT_MINUTES), -minutes_by_cpt[cpt], cpt),
    )
    for cpt in by_remainder[:left]:
        units[cpt] += 1
    return {cpt: n for cpt, n in units.items() if n > 0}


def bill_minutes(timed: Mapping[str, int], untimed: Mapping[str, int]) -> BillingSummary:
    """Bill timed codes by the 8-minute rule and each untimed code once, whatever its minutes."""
    timed_units = allocate_timed_units(timed)
    lines = [
        BillingLine(cpt=cpt, units=timed_units.get(cpt, 0), minutes=minutes, timed=True)
        for cpt, minutes in sorted(timed.items())
    ]
    lines += [
        BillingLine(cpt=cpt, units=1, minutes=minutes, timed=False)
        for cpt, minutes in sorted(untimed.items())
    ]
    return BillingSummary(
        lines=tuple(lines),
        timed_minutes=sum(timed.values()),
        timed_units=sum(timed_units.values()),
        untimed_units=len(untimed),
    )


def bill_note(note: NoteContent, catalog: Catalog) -> BillingSummary:
    """Billing lines of a validated note: minutes summed per CPT code across its lines."""
    timed: dict[str, int] = {}
    untimed: dict[str, int] = {}
    for line in note.interventions:
        technique = catalog.technique(line.technique)
        bucket = timed if technique.timed else untimed
        bucket[technique.cpt] = bucket.get(technique.cpt, 0) + line.minutes
    return bill_minutes(timed, untimed)
