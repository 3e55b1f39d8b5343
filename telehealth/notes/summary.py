"""The patient's plain-language summary of a signed visit note: no codes, no clinical shorthand."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from telehealth.catalog.entries import Dosage
from telehealth.catalog.loader import Catalog
from telehealth.notes.rules import ExercisePrescription, NoteContent, NoteType

VISIT_TITLES: dict[NoteType, str] = {
    "initial_evaluation": "Your first assessment",
    "daily": "Your therapy visit",
    "progress": "Your progress visit",
    "re_evaluation": "Your progress check",
    "discharge": "Your final visit",
}
_SIDES = {"left": "left side", "right": "right side", "bilateral": "both sides"}
_REGIONS = {
    "hip": "hip",
    "lower_back": "lower back",
    "pelvis": "pelvis",
    "abdomen": "stomach muscles",
    "neck": "neck",
    "shoulder": "shoulder",
    "knee": "knee",
    "lower_limb": "leg",
    "upper_limb": "arm",
    "whole_body": "whole body",
}


@dataclass(frozen=True)
class Finding:
    """A condition found, in the patient's words."""

    name: str
    explanation: str
    side: str | None


@dataclass(frozen=True)
class Treatment:
    """A technique used in the visit, in the patient's words, with where it was applied."""

    name: str
    explanation: str
    areas: tuple[str, ...]


@dataclass(frozen=True)
class HomeExercise:
    """An exercise to do at home: how, how much, and when to stop."""

    exercise_id: str
    name: str
    steps: tuple[str, ...]
    cautions: tuple[str, ...]
    easier: str | None
    dosage: str
    note: str
    instructions: str | None = None
    cues: tuple[str, ...] = ()
    mistakes: tuple[str, ...] = ()
    # The drawing's URL path; None for an exercise without one (an admin's addition).
    illustration: str | None = None
    # The amounts as set, for pages that count and time them (the home program's Today).
    prescription: ExercisePrescription | None = None


@dataclass(frozen=True)
class PatientSummary:
    """Everything the patient's visit page shows."""

    title: str
    findings: tuple[Finding, ...]
    treatments: tuple[Treatment, ...]
    home_exercises: tuple[HomeExercise, ...]
    pain: str | None
    next_steps: tuple[str, ...]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def describe_dosage(dosage: Dosage | ExercisePrescription) -> str:
    """Say a dosage in words: '2 sets of 10 repetitions, hold each 5 seconds, 1 time a day...'."""
    parts = [f"{_plural(dosage.sets, 'set')} of {_plural(dosage.repetitions, 'repetition')}"]
    if dosage.hold_seconds:
        parts.append(f"hold each for {_plural(dosage.hold_seconds, 'second')}")
    parts.append(f"{_plural(dosage.per_day, 'time')} a day")
    parts.append("every day" if dosage.per_week == 7 else f"{dosage.per_week} days a week")
    return ", ".join(parts)


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _code_pattern(catalog: Catalog) -> re.Pattern[str] | None:
    codes = {code.code for c in catalog.conditions.values() for code in c.codes}
    codes |= {t.cpt for t in catalog.techniques.values()}
    if not codes:
        return None
    alternatives = "|".join(re.escape(c) for c in sorted(codes, key=len, reverse=True))
    return re.compile(rf"(?<![\w.])(?:{alternatives})(?![\w])", re.IGNORECASE)


def _without_codes(text: str, pattern: re.Pattern[str] | None) -> str:
    # The patient message is free text from the therapist; billing codes mean nothing to a patient.
    if pattern is None:
        return text.strip()
    return re.sub(r"\s{2,}", " ", pattern.sub("", text)).strip()


def build_patient_summary(note: NoteContent, catalog: Catalog) -> PatientSummary:
    """Build the plain-language summary of a validated, signed note for the patient."""
    findings: list[Finding] = []
    for diagnosis in note.diagnoses:
        found = catalog.find_code(diagnosis.code)
        if found is None:
            # A code from outside the clinic's catalog has no plain-language entry: its title
            # is the clearest name there is, and the side comes from the note.
            title = catalog.codes.description(diagnosis.code)
            if title is None:
                continue
            finding = Finding(title, "", _SIDES.get(diagnosis.laterality or ""))
        else:
            condition, code = found
            side = diagnosis.laterality or code.laterality
            finding = Finding(
                condition.plain_name, condition.plain_explanation, _SIDES.get(side or "")
            )
        if finding not in findings:
            findings.append(finding)

    # Several lines of one technique (say, two areas) read as one treatment.
    areas_by_technique: dict[str, list[str]] = {}
    for line in note.interventions:
        area = _REGIONS.get(line.region or "")
        if area and line.side in _SIDES:
            area = f"{area}, {_SIDES[line.side]}"
        areas_by_technique.setdefault(line.technique, [])
        if area:
            areas_by_technique[line.technique].append(area)
    treatments = tuple(
        Treatment(
            catalog.technique(technique_id).plain_name,
            catalog.technique(technique_id).plain_explanation,
            _unique(areas),
        )
        for technique_id, areas in areas_by_technique.items()
    )

    pattern = _code_pattern(catalog)
    exercises = tuple(
        HomeExercise(
            exercise_id=item.exercise,
            name=(entry := catalog.exercise(item.exercise)).name,
            steps=entry.steps,
            cautions=entry.cautions,
            easier=entry.easier,
            dosage=describe_dosage(item),
            note=_without_codes(item.note, pattern),
            instructions=entry.instructions,
            cues=entry.cues,
            mistakes=entry.mistakes,
            illustration=entry.illustration,
            prescription=item,
        )
        for item in note.home_program
    )

    return PatientSummary(
        title=VISIT_TITLES[note.note_type],
        findings=tuple(findings),
        treatments=treatments,
        home_exercises=exercises,
        pain=_describe_pain(note.pain_before, note.pain_after),
        next_steps=_next_steps(note, exercises, _without_codes(note.patient_message, pattern)),
    )


def _describe_pain(before: int | None, after: int | None) -> str | None:
    if before is not None and after is not None:
        return f"Your pain was {before} out of 10 at the start of the visit and {after} at the end."
    if before is not None:
        return f"Your pain was {before} out of 10 at the start of the visit."
    if after is not None:
        return f"Your pain was {after} out of 10 at the end of the visit."
    return None


def _next_steps(
    note: NoteContent, exercises: tuple[HomeExercise, ...], message: str
) -> tuple[str, ...]:
    steps: list[str] = []
    if message:
        steps.append(message)
    if exercises:
        steps.append(
            "Do your home exercises as shown below. Stop any exercise that makes pain shoot "
            "down your leg, and tell your therapist at your next visit."
        )
    if note.note_type == "discharge":
        steps.append("You have finished this course of therapy. Keep up your exercises.")
    else:
        steps.append("Keep your next appointment; you can see it on your visits page.")
    steps.append(
        "Seek care now if you lose control of your bladder or bowels, feel numb between your "
        "legs, or your leg grows weaker."
    )
    return tuple(steps)
