"""The signed note in words: every documented fact, and "1 unit" not "1 units"."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from telehealth.catalog import Catalog
from telehealth.notes.billing import bill_note
from telehealth.notes.pdf import FontFiles, find_font, render_pdf
from telehealth.notes.record import (
    AddendumFacts,
    NoteRecord,
    RecordFacts,
    build_record,
    diagnosis_line,
)
from telehealth.notes.report_rules import line_units
from telehealth.notes.rules import validate_note_content
from tests.unit.notes.samples import daily_note

SIGNED_AT = datetime(2026, 3, 2, 10, 50, tzinfo=UTC)


def _facts(**changes: object) -> RecordFacts:
    base: dict[str, object] = {
        "clinic_name": "Armor Physical Therapy",
        "patient_name": "Zoë Müller",
        "date_of_birth": date(1961, 7, 14),
        "therapist_name": "Dana Reyes",
        "visit_start": datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
        "modality": "virtual",
        "signer_name": "Dana Reyes",
        "signed_at": SIGNED_AT,
        "verified": True,
        "content_hash": "ab" * 32,
        "zone": "Europe/Berlin",
        "addenda": (
            AddendumFacts(
                "Dana Reyes",
                datetime(2026, 3, 3, 8, 0, tzinfo=UTC),
                "Late entry",
                "Pain ≤ 3/10 at night.",
            ),
        ),
    }
    base.update(changes)
    return RecordFacts(**base)  # type: ignore[arg-type]


def _record(catalog: Catalog, **changes: object) -> NoteRecord:
    raw = {**daily_note(), **changes.pop("content", {})}  # type: ignore[dict-item]
    note = validate_note_content(raw, catalog)
    facts = _facts(**changes)
    billing = bill_note(note, catalog, facts.modality)
    return build_record("daily", note, billing, line_units(note, catalog), catalog, facts)


def _all_lines(record: NoteRecord) -> list[str]:
    lines = [f"{label}: {value}" for label, value in record.facts]
    for section in record.sections:
        lines.append(section.heading)
        lines += section.lines
        lines += [d for details in section.details for d in details]
    return lines


def test_the_record_says_everything_that_was_documented(catalog: Catalog) -> None:
    record = _record(catalog)
    lines = _all_lines(record)
    assert record.title == "Armor Physical Therapy — Daily note"
    assert record.facts == (
        ("Patient", "Zoë Müller"),
        ("Date of birth", "14 Jul 1961"),
        ("Visit", "02 Mar 2026, 11:00 CET"),
        ("Modality", "Video visit"),
        ("Patient was", "not recorded (counted as at home)"),
        ("Therapist", "Dana Reyes"),
    )
    sections = {s.heading: s for s in record.sections}
    assert sections["Subjective"].lines == (daily_note()["subjective"],)
    assert sections["Diagnoses (ICD-10-CM)"].lines == (
        "M16.11 Unilateral primary osteoarthritis, right hip — right",
        "M54.50 Low back pain, unspecified",
    )
    techniques = sections["Techniques"]
    # 97110 23 min -> 2 units; 97140's one unit goes to joint mobilization (10 of its 23 min).
    assert techniques.lines == (
        "Therapeutic exercise (CPT 97110) — hip, right — 23 min, 2 units",
        "Joint mobilization (CPT 97140) — hip, right — 10 min, 1 unit",
        "Myofascial release (CPT 97140) — hip, right — 8 min, 0 units",
        "Instrument-assisted soft tissue mobilization (IASTM) (CPT 97140) — lower back, "
        "both sides — 5 min, 0 units",
    )
    assert techniques.details[1] == (
        "Joint or segment: hip",
        "Maitland grade: III",
        "Direction or technique: long-axis distraction",
    )
    assert techniques.details[2] == (
        "Muscles treated: piriformis; gluteus medius",
        "Trigger points: TP1",
    )
    assert techniques.details[3] == (
        "Instrument: stainless steel edge tool",
        "Area treated: lumbar paraspinals",
    )
    assert techniques.details[0][0].startswith(
        "Exercises performed: Bridge, 2 sets of 10 repetitions, 1 time a day, 5 days a week; "
    )
    assert sections["Home program"].lines[1] == (
        "Piriformis stretch: 1 set of 3 repetitions, hold each for 30 seconds, 2 times a day, "
        "every day — Use the chair version at work."
    )
    assert sections["Billing"].lines == (
        "CPT 97110 Therapeutic exercise — 2 units (23 min) — modifiers 95, GP — POS 10",
        "CPT 97140 Manual therapy techniques — 1 unit (23 min) — modifiers 95, GP — POS 10",
        "Total 3 units; 46 timed minutes; place of service 10 (Telehealth provided in "
        "patient's home)",
    )
    assert sections["Signature"].lines[:2] == (
        "Signed by Dana Reyes on 02 Mar 2026, 11:50 CET",
        "Verified",
    )
    assert sections["Addenda"].lines == (
        "03 Mar 2026, 09:00 CET, Dana Reyes — Late entry: Pain ≤ 3/10 at night.",
    )
    assert not any("1 units" in line for line in lines)


def test_where_the_patient_was_sets_the_place_of_service(catalog: Catalog) -> None:
    away = _record(catalog, content={"patient_location": "other"})
    assert ("Patient was", "not at home") in away.facts
    billing = next(s for s in away.sections if s.heading == "Billing")
    assert billing.lines[0].endswith("modifiers 95, GP — POS 02")
    clinic = _record(catalog, modality="in_clinic", date_of_birth=None)
    assert [label for label, _ in clinic.facts] == ["Patient", "Visit", "Modality", "Therapist"]
    billing = next(s for s in clinic.sections if s.heading == "Billing")
    assert billing.lines[0].endswith("modifiers GP — POS 11")


def test_a_seal_that_no_longer_matches_is_said_plainly(catalog: Catalog) -> None:
    record = _record(catalog, verified=False)
    signature = next(s for s in record.sections if s.heading == "Signature")
    assert signature.lines[1].startswith("NOT VERIFIED")


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def _squeeze(text: str) -> str:
    # Text extraction breaks lines where the layout wrapped them; compare without whitespace.
    return "".join(text.split())


def test_the_pdf_opens_and_holds_the_record_in_unicode(catalog: Catalog) -> None:
    font = find_font()
    assert font is not None, "DejaVu Sans is installed on this machine (fonts-dejavu-core)"
    record = _record(catalog)
    data = render_pdf(record, font)
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata is not None and reader.metadata.title == record.title
    text = _squeeze(_pdf_text(data))
    for line in _all_lines(record):
        assert _squeeze(line) in text, line
    assert "Zoë Müller".replace(" ", "") in text and "≤" in text


def test_without_a_unicode_font_the_pdf_falls_back_to_latin_1(
    catalog: Catalog, tmp_path: Path
) -> None:
    assert find_font([tmp_path]) is None
    data = render_pdf(_record(catalog), None)
    text = _squeeze(_pdf_text(data))
    # Latin-1 holds ë and ü; ≤ and the dash are spelled out rather than lost.
    assert "ZoëMüller" in text
    assert "Pain<=3/10atnight." in text
    assert _squeeze("Joint mobilization (CPT 97140) - hip, right - 10 min, 1 unit") in text


def test_a_font_folder_needs_both_faces(tmp_path: Path) -> None:
    (tmp_path / "DejaVuSans.ttf").write_bytes(b"")
    assert find_font([tmp_path]) is None
    (tmp_path / "DejaVuSans-Bold.ttf").write_bytes(b"")
    assert find_font([tmp_path]) == FontFiles(
        tmp_path / "DejaVuSans.ttf", tmp_path / "DejaVuSans-Bold.ttf"
    )


@pytest.mark.parametrize("pages", [1, 3])
def test_a_long_note_flows_over_pages(catalog: Catalog, pages: int) -> None:
    long_text = "\n".join(f"Observation {i}: hip flexion 100°." for i in range(60 * (pages - 1)))
    record = _record(catalog, content={"objective": long_text or "Short."})
    reader = PdfReader(io.BytesIO(render_pdf(record, find_font())))
    assert (len(reader.pages) >= pages) and (pages > 1 or len(reader.pages) <= 2)
    last = reader.pages[-1].extract_text()
    assert f"{len(reader.pages)}/{len(reader.pages)}" in last


def test_a_code_outside_the_catalog_reads_by_its_code_set_title(catalog: Catalog) -> None:
    assert catalog.find_code("M79.641") is None
    assert diagnosis_line("M79.641", "right", catalog) == "M79.641 Pain in right hand — right"
    assert diagnosis_line("M75.121", None, catalog).startswith("M75.121 Complete rotator cuff")
