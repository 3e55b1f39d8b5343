"""Note templates and copy forward: what a new draft starts from. Pure functions, no I/O.

A template is a skeleton for one appointment type: the text each SOAP section starts with and the
intervention lines usually performed. Copy forward takes the structured parts of the patient's
previous signed note (diagnoses, interventions, home program) and never its narrative: the
subjective text is what the patient says today, and the signature belongs to the old note.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from telehealth.catalog.loader import Catalog
from telehealth.catalog.validation import invalid
from telehealth.notes.rules import (
    EVALUATION_CPTS,
    RE_EVALUATION_CPT,
    SOAP_SECTIONS,
    NoteContent,
    NoteType,
    validate_note_content,
)

TEMPLATE_FIELDS = (*SOAP_SECTIONS, "interventions")


def validate_template(
    document: Mapping[str, Any], note_type: NoteType, catalog: Catalog
) -> dict[str, Any]:
    """Check a template document as the start of a note of this type; return it normalized."""
    unknown = sorted(set(document) - set(TEMPLATE_FIELDS))
    if unknown:
        raise invalid(
            [{"field": name, "message": "not part of a template"} for name in unknown], "template"
        )
    note = validate_note_content({"note_type": note_type, **document}, catalog)
    return {
        **{section: getattr(note, section) for section in SOAP_SECTIONS},
        "interventions": [line.model_dump(mode="json") for line in note.interventions],
    }


def draft_from_template(note_type: NoteType, template: Mapping[str, Any] | None) -> dict[str, Any]:
    """The content of a new draft: empty, or the template's skeleton."""
    content = NoteContent(note_type=note_type).model_dump(mode="json")
    if template:
        for name in TEMPLATE_FIELDS:
            if name in template:
                content[name] = template[name]
    return content


def copy_forward(
    draft: Mapping[str, Any], previous: Mapping[str, Any], catalog: Catalog
) -> dict[str, Any]:
    """The draft with the previous note's diagnoses, interventions and home program.

    Evaluation and re-evaluation lines are not carried: they are billed once, at the visit where
    they were done. The draft keeps its own type, sections, pain scores and patient message."""
    earlier = NoteContent.model_validate(previous)
    once = EVALUATION_CPTS | {RE_EVALUATION_CPT}
    lines = [
        line.model_dump(mode="json")
        for line in earlier.interventions
        if line.technique in catalog.techniques
        and catalog.technique(line.technique).cpt not in once
    ]
    return {
        **draft,
        "diagnoses": [d.model_dump(mode="json") for d in earlier.diagnoses],
        "interventions": lines,
        "home_program": [e.model_dump(mode="json") for e in earlier.home_program],
    }
