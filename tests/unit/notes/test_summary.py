from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

from telehealth.catalog import Catalog
from telehealth.notes.rules import NoteContent, validate_note_content
from telehealth.notes.summary import PatientSummary, build_patient_summary, describe_dosage
from tests.unit.notes.samples import daily_note


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from strings(getattr(value, f.name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from strings(item)


def summarize(catalog: Catalog, **changes: Any) -> tuple[NoteContent, PatientSummary]:
    raw = daily_note()
    raw.update(changes)
    note = validate_note_content(raw, catalog)
    return note, build_patient_summary(note, catalog)


def all_codes(catalog: Catalog) -> set[str]:
    codes = {code.code for c in catalog.conditions.values() for code in c.codes}
    return codes | {t.cpt for t in catalog.techniques.values()}


def test_summary_never_shows_a_code(catalog: Catalog) -> None:
    _, summary = summarize(
        catalog, patient_message="Billed 97110 x2 and 97140 for M16.11; see you Tuesday."
    )
    text = "\n".join(strings(summary))
    for code in all_codes(catalog):
        assert code not in text, code
    assert not re.search(r"\b97\d{3}\b", text)
    assert "see you Tuesday" in text


def test_summary_speaks_plain_language_about_findings(catalog: Catalog) -> None:
    _, summary = summarize(catalog)
    hip = catalog.condition("hip-osteoarthritis")
    assert summary.findings[0].name == hip.plain_name
    assert summary.findings[0].explanation == hip.plain_explanation
    assert summary.findings[0].side == "right side"
    assert summary.findings[1].name == "Low back pain"
    assert summary.title == "Your therapy visit"


def test_summary_lists_treatments_by_plain_name_once_each(catalog: Catalog) -> None:
    _, summary = summarize(catalog)
    names = [t.name for t in summary.treatments]
    assert names == [
        catalog.technique(t).plain_name
        for t in ("therapeutic-exercise", "joint-mobilization", "myofascial-release", "iastm")
    ]
    assert summary.treatments[0].areas == ("hip, right side",)
    assert summary.treatments[3].areas == ("lower back, both sides",)
    clinical = {catalog.technique(t).name for t in ("joint-mobilization", "iastm")}
    assert not clinical & set(strings(summary))


def test_summary_includes_exercise_instructions_and_dosage(catalog: Catalog) -> None:
    _, summary = summarize(catalog)
    bridge, stretch = summary.home_exercises
    assert bridge.name == "Bridge"
    assert bridge.steps == catalog.exercise("bridge").steps
    assert bridge.cautions == catalog.exercise("bridge").cautions
    assert bridge.dosage == (
        "2 sets of 10 repetitions, hold each for 3 seconds, 1 time a day, 5 days a week"
    )
    assert stretch.dosage == (
        "1 set of 3 repetitions, hold each for 30 seconds, 2 times a day, every day"
    )
    assert stretch.note == "Use the chair version at work."
    assert stretch.easier == catalog.exercise("piriformis-stretch").easier


def test_dosage_without_a_hold_leaves_the_hold_out(catalog: Catalog) -> None:
    assert describe_dosage(catalog.exercise("clamshell").dosage) == (
        "2 sets of 10 repetitions, 1 time a day, 5 days a week"
    )


def test_summary_gives_pain_and_next_steps(catalog: Catalog) -> None:
    _, summary = summarize(catalog)
    assert summary.pain == ("Your pain was 6 out of 10 at the start of the visit and 4 at the end.")
    assert summary.next_steps[0] == "Great work today. Keep the bridges slow and steady."
    assert any("home exercises" in step for step in summary.next_steps)
    assert any("Seek care now" in step for step in summary.next_steps)


def test_discharge_summary_says_therapy_is_finished(catalog: Catalog) -> None:
    _, summary = summarize(
        catalog, note_type="discharge", home_program=[], pain_before=None, pain_after=None
    )
    assert summary.title == "Your final visit"
    assert summary.pain is None
    assert summary.home_exercises == ()
    assert any("finished" in step for step in summary.next_steps)
    assert not any("home exercises" in step for step in summary.next_steps)


def test_summary_leaves_out_the_clinical_soap_text(catalog: Catalog) -> None:
    note, summary = summarize(catalog)
    text = "\n".join(strings(summary))
    for section in (note.subjective, note.objective, note.assessment, note.plan):
        assert section not in text
