"""The visit note's content and its pure validation rules against the catalogs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    SerializerFunctionWrapHandler,
    StrictInt,
    StrictStr,
    ValidationError,
    model_serializer,
)

from telehealth.catalog.entries import ParameterSpec, TechniqueEntry
from telehealth.catalog.icd10cm import CodeSet
from telehealth.catalog.loader import Catalog
from telehealth.catalog.validation import FieldError, errors_from_validation, invalid

NoteType = Literal["initial_evaluation", "daily", "progress", "re_evaluation", "discharge"]
NOTE_TYPES: tuple[NoteType, ...] = (
    "initial_evaluation",
    "daily",
    "progress",
    "re_evaluation",
    "discharge",
)
Side = Literal["left", "right", "bilateral", "none"]
DiagnosisSide = Literal["left", "right", "bilateral"]
InterventionRegion = Literal[
    "hip",
    "lower_back",
    "pelvis",
    "abdomen",
    "neck",
    "shoulder",
    "knee",
    "lower_limb",
    "upper_limb",
    "whole_body",
]
# Where the patient was during a video visit: at home, or somewhere else (work, a car, a
# relative's house). It decides the claim's place of service (billing.claim_setting).
PatientLocation = Literal["home", "other"]
SOAP_SECTIONS: tuple[str, ...] = ("subjective", "objective", "assessment", "plan")

MAX_SECTION_CHARS = 20_000
MAX_PATIENT_MESSAGE_CHARS = 5_000
MAX_LINE_MINUTES = 120
MAX_DIAGNOSES = 12
MAX_INTERVENTIONS = 30
MAX_HOME_EXERCISES = 20

EVALUATION_CPTS = frozenset({"97161", "97162", "97163"})
RE_EVALUATION_CPT = "97164"

SectionText = Annotated[StrictStr, Field(max_length=MAX_SECTION_CHARS)]
PainScore = Annotated[StrictInt, Field(ge=0, le=10)]


class _Content(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Diagnosis(_Content):
    """A diagnosis: an ICD-10-CM code (the catalog's or any of the code set), with an optional side."""

    code: Annotated[StrictStr, Field(min_length=3, max_length=8)]
    laterality: DiagnosisSide | None = None


class ExercisePrescription(_Content):
    """One library exercise with the dosage the therapist set for it."""

    exercise: Annotated[StrictStr, Field(min_length=1, max_length=80)]
    sets: Annotated[StrictInt, Field(ge=1, le=10)]
    repetitions: Annotated[StrictInt, Field(ge=1, le=50)]
    hold_seconds: Annotated[StrictInt, Field(ge=0, le=120)] = 0
    per_day: Annotated[StrictInt, Field(ge=1, le=6)]
    per_week: Annotated[StrictInt, Field(ge=1, le=7)]
    note: Annotated[StrictStr, Field(max_length=500)] = ""


class InterventionLine(_Content):
    """One technique performed: where, on which side, with its own parameters, for how long."""

    technique: Annotated[StrictStr, Field(min_length=1, max_length=80)]
    region: InterventionRegion | None = None
    side: Side = "none"
    parameters: dict[StrictStr, JsonValue] = Field(default_factory=dict)
    minutes: Annotated[StrictInt, Field(ge=0, le=MAX_LINE_MINUTES)]


class NoteContent(_Content):
    """The content of a visit note: SOAP text, diagnoses, interventions, home program, pain."""

    note_type: NoteType
    subjective: SectionText = ""
    objective: SectionText = ""
    assessment: SectionText = ""
    plan: SectionText = ""
    diagnoses: tuple[Diagnosis, ...] = Field(default=(), max_length=MAX_DIAGNOSES)
    interventions: tuple[InterventionLine, ...] = Field(default=(), max_length=MAX_INTERVENTIONS)
    home_program: tuple[ExercisePrescription, ...] = Field(
        default=(), max_length=MAX_HOME_EXERCISES
    )
    pain_before: PainScore | None = None
    pain_after: PainScore | None = None
    # Plain-language words for the patient's summary; the SOAP sections stay clinical.
    patient_message: Annotated[StrictStr, Field(max_length=MAX_PATIENT_MESSAGE_CHARS)] = ""
    # Not recorded (None) counts as home; see billing.claim_setting.
    patient_location: PatientLocation | None = None

    @model_serializer(mode="wrap")
    def _omit_unrecorded_location(self, handler: SerializerFunctionWrapHandler) -> Any:
        # Notes written before the field existed were stored and signed without the key; an
        # unrecorded location stays absent so their stored form, and its hash, stay the same.
        data = handler(self)
        if isinstance(data, dict) and data.get("patient_location") is None:
            data.pop("patient_location", None)
        return data


def validate_note_content(
    content: Mapping[str, Any] | NoteContent, catalog: Catalog
) -> NoteContent:
    """Validate raw note content against the rules and catalogs; InvalidInput names each field."""
    if isinstance(content, NoteContent):
        content = content.model_dump(mode="json")
    try:
        note = NoteContent.model_validate(content)
    except ValidationError as exc:
        raise invalid(errors_from_validation(exc), "note") from None

    errors: list[FieldError] = []
    _check_diagnoses(note, catalog, errors)
    lines = [_check_intervention(note, i, catalog, errors) for i in range(len(note.interventions))]
    seen_exercises: set[str] = set()
    for index, item in enumerate(note.home_program):
        path = f"home_program[{index}].exercise"
        if item.exercise not in catalog.exercises:
            errors.append({"field": path, "message": f"unknown exercise {item.exercise!r}"})
        elif item.exercise in seen_exercises:
            errors.append({"field": path, "message": f"{item.exercise!r} is listed twice"})
        seen_exercises.add(item.exercise)
    if errors:
        raise invalid(errors, "note")
    return note.model_copy(update={"interventions": tuple(lines)})


def signing_problems(note: NoteContent, catalog: Catalog) -> list[FieldError]:
    """List what a validated note still lacks before it may be signed (empty when complete)."""
    problems: list[FieldError] = []
    for section in ("subjective", "assessment", "plan"):
        if not getattr(note, section).strip():
            problems.append({"field": section, "message": "must be written before signing"})
    if not note.diagnoses:
        problems.append({"field": "diagnoses", "message": "at least one diagnosis is needed"})
    problems.extend(diagnosis_problems(note, catalog.codes))
    cpts = {catalog.technique(line.technique).cpt for line in note.interventions}
    if note.note_type == "initial_evaluation" and not cpts & EVALUATION_CPTS:
        problems.append(
            {"field": "interventions", "message": "an initial evaluation records its evaluation"}
        )
    if note.note_type == "re_evaluation" and RE_EVALUATION_CPT not in cpts:
        problems.append(
            {"field": "interventions", "message": "a re-evaluation records the re-evaluation"}
        )
    return problems


def require_signable(note: NoteContent, catalog: Catalog) -> None:
    """Raise InvalidInput when the note is not complete enough to sign."""
    problems = signing_problems(note, catalog)
    if problems:
        raise invalid(problems, "note for signing")


def _check_diagnoses(note: NoteContent, catalog: Catalog, errors: list[FieldError]) -> None:
    # A draft may hold a code that is not billable yet (M54.5 before its 5th character): signing
    # refuses it. What is never right is refused now: a code that does not exist, one listed
    # twice, or a side that the code itself contradicts (M16.11 is the right hip).
    codes = catalog.codes
    seen: set[str] = set()
    for index, diagnosis in enumerate(note.diagnoses):
        path = f"diagnoses[{index}]"
        if not codes.is_valid(diagnosis.code):
            errors.append(
                {
                    "field": f"{path}.code",
                    "message": f"{diagnosis.code} is not an ICD-10-CM code ({codes.edition})",
                }
            )
            continue
        if diagnosis.code in seen:
            errors.append({"field": f"{path}.code", "message": f"{diagnosis.code} is listed twice"})
        seen.add(diagnosis.code)
        side = diagnosis.laterality
        coded = codes.side(diagnosis.code)
        if side is None or coded in (None, "unspecified", side):
            continue
        twin = codes.sided_variant(diagnosis.code, side)
        hint = f"; use {twin}" if twin else ""
        errors.append(
            {
                "field": f"{path}.laterality",
                "message": f"{diagnosis.code} is not coded for the {side} side{hint}",
            }
        )


def diagnosis_problems(note: NoteContent, codes: CodeSet) -> list[FieldError]:
    """What keeps the note's diagnoses off a claim: each problem names the code.

    A code not in the code set; a category that is not billable (M54.5, M51.36); an injury code
    without its 7th character (S73.101 -> S73.101A); the unspecified side of a code that has sided
    codes while the diagnosis records the side (M17.10 with "left" -> M17.12); two codes an
    Excludes1 note forbids together (M54.50 with M51.360).
    """
    problems: list[FieldError] = []
    for index, diagnosis in enumerate(note.diagnoses):
        where = f"diagnoses[{index}].code"
        code = diagnosis.code
        if not codes.is_valid(code):
            problems.append(
                {"field": where, "message": f"{code} is not an ICD-10-CM code ({codes.edition})"}
            )
        elif codes.needs_seventh_character(code):
            sevenths = ", ".join(f"{k} {v}" for k, v in codes.seventh_characters(code).items())
            below = ", ".join(codes.children(code)[:3])
            problems.append(
                {
                    "field": where,
                    "message": f"{code} needs its 7th character ({sevenths}): {below}",
                }
            )
        elif not codes.is_billable(code):
            children = codes.children(code)
            more = ", ..." if len(children) > 6 else ""
            problems.append(
                {
                    "field": where,
                    "message": f"{code} is not billable: choose one of {', '.join(children[:6])}{more}",
                }
            )
        else:
            problem = _unspecified_side(code, diagnosis.laterality, codes)
            if problem:
                problems.append({"field": f"diagnoses[{index}].laterality", "message": problem})
    for later in range(len(note.diagnoses)):
        for earlier in range(later):
            first, second = note.diagnoses[earlier].code, note.diagnoses[later].code
            if not (codes.is_valid(first) and codes.is_valid(second)):
                continue
            excludes = codes.excludes1_pair(first, second)
            if excludes is not None:
                problems.append(
                    {
                        "field": f"diagnoses[{later}].code",
                        "message": (
                            f"{second} cannot be coded with {first}: Excludes1 note at "
                            f"{excludes.noted_at} ({excludes.text})"
                        ),
                    }
                )
    return problems


def _unspecified_side(code: str, side: DiagnosisSide | None, codes: CodeSet) -> str | None:
    # ICD-10-CM codes to the side documented: "unspecified" is for a side nobody recorded.
    if side is None or codes.side(code) != "unspecified":
        return None
    twin = codes.sided_variant(code, side)
    if twin is not None:
        return f"{code} is the unspecified side but the diagnosis is {side}: use {twin}"
    right, left = codes.sided_variant(code, "right"), codes.sided_variant(code, "left")
    return (
        f"{code} is the unspecified side but the diagnosis is {side}: "
        f"there is no bilateral code beside it, so code both sides ({right} and {left})"
    )


def _check_intervention(
    note: NoteContent, index: int, catalog: Catalog, errors: list[FieldError]
) -> InterventionLine:
    line = note.interventions[index]
    path = f"interventions[{index}]"
    technique = catalog.techniques.get(line.technique)
    if technique is None:
        errors.append(
            {"field": f"{path}.technique", "message": f"unknown technique {line.technique!r}"}
        )
        return line
    if technique.cpt in EVALUATION_CPTS:
        if note.note_type != "initial_evaluation":
            errors.append(
                {
                    "field": f"{path}.technique",
                    "message": "evaluations belong to initial evaluations",
                }
            )
        earlier = [
            other
            for other in note.interventions[:index]
            if (t := catalog.techniques.get(other.technique)) and t.cpt in EVALUATION_CPTS
        ]
        if earlier:
            errors.append({"field": f"{path}.technique", "message": "only one evaluation per note"})
    if technique.cpt == RE_EVALUATION_CPT and note.note_type != "re_evaluation":
        errors.append(
            {
                "field": f"{path}.technique",
                "message": "re-evaluations belong to re-evaluation notes",
            }
        )
    parameters = validate_parameters(
        technique, line.parameters, catalog, f"{path}.parameters", errors
    )
    return line.model_copy(update={"parameters": parameters})


def validate_parameters(
    technique: TechniqueEntry,
    parameters: Mapping[str, JsonValue],
    catalog: Catalog,
    path: str,
    errors: list[FieldError],
) -> dict[str, JsonValue]:
    """Check parameters against the technique's schema; append errors, return normalized values."""
    normalized: dict[str, JsonValue] = {}
    for name in parameters:
        if technique.parameter(name) is None:
            errors.append({"field": f"{path}.{name}", "message": "unknown parameter"})
    for spec in technique.parameters:
        where = f"{path}.{spec.name}"
        if parameters.get(spec.name) is None:
            if spec.required:
                errors.append({"field": where, "message": "required"})
            continue
        try:
            normalized[spec.name] = _check_value(
                spec, parameters[spec.name], catalog, where, errors
            )
        except _Rejected as exc:
            errors.append({"field": where, "message": str(exc)})
    return normalized


class _Rejected(ValueError):
    """A parameter value breaks its spec; the message is shown to the user."""


def _check_value(
    spec: ParameterSpec, value: JsonValue, catalog: Catalog, path: str, errors: list[FieldError]
) -> JsonValue:
    if spec.type == "string":
        if not isinstance(value, str) or not value.strip():
            raise _Rejected("must be a non-empty string")
        if len(value) > spec.max_length:
            raise _Rejected(f"must be at most {spec.max_length} characters")
        return value
    if spec.type == "integer":
        # bool is an int subclass in Python; true/false is never a count.
        if not isinstance(value, int) or isinstance(value, bool):
            raise _Rejected("must be a whole number")
        if spec.minimum is not None and value < spec.minimum:
            raise _Rejected(f"must be at least {spec.minimum}")
        if spec.maximum is not None and value > spec.maximum:
            raise _Rejected(f"must be at most {spec.maximum}")
        return value
    if spec.type == "enum":
        return _check_enum(spec, value)
    if not isinstance(value, list):
        raise _Rejected("must be a list")
    if len(value) < spec.min_items:
        raise _Rejected(f"must list at least {spec.min_items}")
    if len(value) > spec.max_items:
        raise _Rejected(f"must list at most {spec.max_items}")
    if spec.type == "string_list":
        return _check_string_list(spec, value, path, errors)
    return _check_exercise_list(value, catalog, path, errors)


def _check_enum(spec: ParameterSpec, value: JsonValue) -> str:
    allowed = spec.allowed or ()
    if isinstance(value, int) and not isinstance(value, bool) and spec.aliases:
        value = spec.aliases.get(str(value), value)
    if isinstance(value, str) and spec.refused and value in spec.refused:
        raise _Rejected(spec.refused[value])
    if not isinstance(value, str) or value not in allowed:
        raise _Rejected("must be one of " + ", ".join(allowed))
    return value


def _check_string_list(
    spec: ParameterSpec, value: list[JsonValue], path: str, errors: list[FieldError]
) -> JsonValue:
    ok: list[JsonValue] = []
    for index, item in enumerate(value):
        where = f"{path}[{index}]"
        if not isinstance(item, str) or not item.strip():
            errors.append({"field": where, "message": "must be a non-empty string"})
        elif len(item) > spec.max_length:
            errors.append(
                {"field": where, "message": f"must be at most {spec.max_length} characters"}
            )
        elif spec.allowed is not None and item not in spec.allowed:
            errors.append({"field": where, "message": "must be one of " + ", ".join(spec.allowed)})
        elif item in ok:
            errors.append({"field": where, "message": f"{item!r} is listed twice"})
        else:
            ok.append(item)
    return ok


def _check_exercise_list(
    value: list[JsonValue], catalog: Catalog, path: str, errors: list[FieldError]
) -> JsonValue:
    ok: list[JsonValue] = []
    for index, item in enumerate(value):
        where = f"{path}[{index}]"
        try:
            prescription = ExercisePrescription.model_validate(item)
        except ValidationError as exc:
            errors.extend(errors_from_validation(exc, (where,)))
            continue
        if prescription.exercise not in catalog.exercises:
            errors.append(
                {
                    "field": f"{where}.exercise",
                    "message": f"unknown exercise {prescription.exercise!r}",
                }
            )
            continue
        ok.append(prescription.model_dump(mode="json"))
    return ok
