"""Billing units of a visit by the CMS 8-minute rule, its claim modifiers and place of service."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from telehealth.catalog.loader import Catalog
from telehealth.notes.rules import NoteContent, PatientLocation

UNIT_MINUTES = 15
MIN_BILLABLE_MINUTES = 8

# Modifier 95 marks a synchronous audio-video telehealth service; GP marks a service delivered
# under a physical-therapy plan of care, which every line of this clinic's notes is.
MODIFIER_TELEHEALTH = "95"
MODIFIER_PHYSICAL_THERAPY = "GP"
TELEHEALTH_MODIFIERS: tuple[str, ...] = (MODIFIER_TELEHEALTH, MODIFIER_PHYSICAL_THERAPY)
# Place of service is where the patient was: 10 telehealth in the patient's home, 02 telehealth
# anywhere else, 11 the clinic's own office for an in-clinic visit.
PLACE_OF_SERVICE_TELEHEALTH_HOME = "10"
PLACE_OF_SERVICE_TELEHEALTH_OTHER = "02"
PLACE_OF_SERVICE_OFFICE = "11"
PLACE_OF_SERVICE_NAMES: Mapping[str, str] = {
    PLACE_OF_SERVICE_TELEHEALTH_HOME: "Telehealth provided in patient's home",
    PLACE_OF_SERVICE_TELEHEALTH_OTHER: "Telehealth provided other than in patient's home",
    PLACE_OF_SERVICE_OFFICE: "Office",
}
# The appointment modality of a visit held in the clinic (scheduling's Modality.IN_CLINIC);
# every other modality is a synchronous video visit.
IN_CLINIC = "in_clinic"

# Plain names of the CPT codes the catalog bills, for people reading a signed note or its PDF.
CPT_NAMES: Mapping[str, str] = {
    "97110": "Therapeutic exercise",
    "97112": "Neuromuscular re-education",
    "97140": "Manual therapy techniques",
    "97150": "Therapeutic procedures, group",
    "97161": "PT evaluation, low complexity",
    "97162": "PT evaluation, moderate complexity",
    "97163": "PT evaluation, high complexity",
    "97164": "PT re-evaluation",
    "97530": "Therapeutic activities",
    "97535": "Self-care / home management training",
}


@dataclass(frozen=True)
class ClaimSetting:
    """How a visit is claimed: the modifiers on every line and the place of service."""

    modifiers: tuple[str, ...]
    place_of_service: str

    @property
    def place_of_service_name(self) -> str:
        """The place-of-service code's name."""
        return PLACE_OF_SERVICE_NAMES[self.place_of_service]


def claim_setting(modality: str, patient_location: PatientLocation | None) -> ClaimSetting:
    """Modifiers and place of service from where the visit was held and where the patient was.

    A video visit carries 95 and GP; its place of service is 10 when the patient was at home and
    02 when the note records them elsewhere. A note that does not say counts as home, where this
    clinic's patients join from. An in-clinic visit is GP only, at the office (11), whatever the
    note says about the patient's location.
    """
    if modality == IN_CLINIC:
        return ClaimSetting((MODIFIER_PHYSICAL_THERAPY,), PLACE_OF_SERVICE_OFFICE)
    place = (
        PLACE_OF_SERVICE_TELEHEALTH_OTHER
        if patient_location == "other"
        else PLACE_OF_SERVICE_TELEHEALTH_HOME
    )
    return ClaimSetting(TELEHEALTH_MODIFIERS, place)


def cpt_name(cpt: str, catalog: Catalog | None = None) -> str:
    """A CPT code's plain name; an admin-added code falls back to its first technique's name."""
    if cpt in CPT_NAMES:
        return CPT_NAMES[cpt]
    if catalog is not None:
        for technique in catalog.techniques.values():
            if technique.cpt == cpt:
                return technique.name
    return cpt


def units_text(units: int) -> str:
    """'1 unit', '2 units', '0 units'."""
    return f"{units} unit" if units == 1 else f"{units} units"


@dataclass(frozen=True)
class BillingLine:
    """Units billed for one CPT code and the minutes recorded against it."""

    cpt: str
    units: int
    minutes: int
    timed: bool
    modifiers: tuple[str, ...] = ()
    place_of_service: str = ""
    name: str = ""


@dataclass(frozen=True)
class BillingSummary:
    """The billing lines of one visit (timed codes first, by CPT) and their totals."""

    lines: tuple[BillingLine, ...]
    timed_minutes: int
    timed_units: int
    untimed_units: int
    # None until the visit is known (bill_minutes alone); bill_note always sets it.
    setting: ClaimSetting | None = None

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


def bill_note(note: NoteContent, catalog: Catalog, modality: str = "virtual") -> BillingSummary:
    """Billing lines of a validated note: minutes summed per CPT code, with the visit's claim
    modifiers and place of service on every line (a video visit unless modality says otherwise)."""
    timed: dict[str, int] = {}
    untimed: dict[str, int] = {}
    for line in note.interventions:
        technique = catalog.technique(line.technique)
        bucket = timed if technique.timed else untimed
        bucket[technique.cpt] = bucket.get(technique.cpt, 0) + line.minutes
    summary = bill_minutes(timed, untimed)
    setting = claim_setting(modality, note.patient_location)
    lines = tuple(
        replace(
            line,
            modifiers=setting.modifiers,
            place_of_service=setting.place_of_service,
            name=cpt_name(line.cpt, catalog),
        )
        for line in summary.lines
    )
    return replace(summary, lines=lines, setting=setting)
