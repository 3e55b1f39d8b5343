from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from telehealth.catalog import Catalog
from telehealth.errors import InvalidInput
from telehealth.notes.rules import (
    MAX_SECTION_CHARS,
    NOTE_TYPES,
    NoteContent,
    require_signable,
    signing_problems,
    validate_note_content,
)
from tests.unit.notes.samples import daily_note

VIDEO_MESSAGE = "cannot be performed over video"


def errors_for(raw: dict[str, Any], catalog: Catalog) -> list[dict[str, str]]:
    with pytest.raises(InvalidInput) as exc:
        validate_note_content(raw, catalog)
    details: list[dict[str, str]] = exc.value.details
    assert details, "InvalidInput must say which field"
    assert exc.value.code == "invalid_input"
    return details


def fields(raw: dict[str, Any], catalog: Catalog) -> list[str]:
    return [d["field"] for d in errors_for(raw, catalog)]


def test_a_complete_note_validates_into_typed_content(catalog: Catalog) -> None:
    note = validate_note_content(daily_note(), catalog)
    assert isinstance(note, NoteContent)
    assert note.note_type == "daily"
    assert [d.code for d in note.diagnoses] == ["M16.11", "M54.50"]
    assert note.interventions[1].parameters == {
        "joint": "hip",
        "grade": "III",
        "direction": "long-axis distraction",
    }
    exercises = note.interventions[0].parameters["exercises"]
    assert isinstance(exercises, list) and isinstance(exercises[0], dict)
    assert exercises[0]["hold_seconds"] == 0, "the default hold is filled in"
    assert note.home_program[1].note == "Use the chair version at work."


def test_validation_is_idempotent(catalog: Catalog) -> None:
    once = validate_note_content(daily_note(), catalog)
    assert validate_note_content(once, catalog) == once
    assert validate_note_content(once.model_dump(mode="json"), catalog) == once


@pytest.mark.parametrize("note_type", NOTE_TYPES)
def test_every_note_type_is_accepted(note_type: str, catalog: Catalog) -> None:
    raw = {
        "note_type": note_type,
        "subjective": "s",
        "objective": "o",
        "assessment": "a",
        "plan": "p",
    }
    assert validate_note_content(raw, catalog).note_type == note_type


@pytest.mark.parametrize("grade", [1, 2, 3, 4])
def test_whole_number_grades_read_as_maitland_grades(grade: int, catalog: Catalog) -> None:
    raw = daily_note()
    raw["interventions"][1]["parameters"]["grade"] = grade
    note = validate_note_content(raw, catalog)
    assert note.interventions[1].parameters["grade"] == ["I", "II", "III", "IV"][grade - 1]


Mutation = Callable[[dict[str, Any]], None]


def set_in(*path: str | int, value: Any) -> Mutation:
    def mutate(raw: dict[str, Any]) -> None:
        target: Any = raw
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def drop(*path: str | int) -> Mutation:
    def mutate(raw: dict[str, Any]) -> None:
        target: Any = raw
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


CASES: list[tuple[str, Mutation, str]] = [
    (
        "unknown technique",
        set_in("interventions", 2, "technique", value="cupping"),
        "interventions[2].technique",
    ),
    ("unknown condition code", set_in("diagnoses", 1, "code", value="M99.99"), "diagnoses[1].code"),
    (
        "negative minutes",
        set_in("interventions", 0, "minutes", value=-1),
        "interventions[0].minutes",
    ),
    (
        "minutes over the cap",
        set_in("interventions", 0, "minutes", value=121),
        "interventions[0].minutes",
    ),
    (
        "minutes as text",
        set_in("interventions", 0, "minutes", value="20"),
        "interventions[0].minutes",
    ),
    (
        "minutes as a float",
        set_in("interventions", 0, "minutes", value=20.0),
        "interventions[0].minutes",
    ),
    (
        "minutes as a bool",
        set_in("interventions", 0, "minutes", value=True),
        "interventions[0].minutes",
    ),
    (
        "grade 0",
        set_in("interventions", 1, "parameters", "grade", value=0),
        "interventions[1].parameters.grade",
    ),
    (
        "grade text 0",
        set_in("interventions", 1, "parameters", "grade", value="0"),
        "interventions[1].parameters.grade",
    ),
    (
        "grade VI",
        set_in("interventions", 1, "parameters", "grade", value="VI"),
        "interventions[1].parameters.grade",
    ),
    (
        "grade lower case",
        set_in("interventions", 1, "parameters", "grade", value="iii"),
        "interventions[1].parameters.grade",
    ),
    (
        "grade missing",
        drop("interventions", 1, "parameters", "grade"),
        "interventions[1].parameters.grade",
    ),
    (
        "unknown joint",
        set_in("interventions", 1, "parameters", "joint", value="knee"),
        "interventions[1].parameters.joint",
    ),
    (
        "unknown parameter",
        set_in("interventions", 1, "parameters", "force", value="high"),
        "interventions[1].parameters.force",
    ),
    (
        "muscle not in the list",
        set_in("interventions", 2, "parameters", "muscles", value=["biceps"]),
        "interventions[2].parameters.muscles[0]",
    ),
    (
        "muscles empty",
        set_in("interventions", 2, "parameters", "muscles", value=[]),
        "interventions[2].parameters.muscles",
    ),
    (
        "trigger points not a list",
        set_in("interventions", 2, "parameters", "trigger_points", value="TP1"),
        "interventions[2].parameters.trigger_points",
    ),
    (
        "instrument unknown",
        set_in("interventions", 3, "parameters", "instrument", value="spoon"),
        "interventions[3].parameters.instrument",
    ),
    (
        "area blank",
        set_in("interventions", 3, "parameters", "area", value="  "),
        "interventions[3].parameters.area",
    ),
    (
        "exercise unknown",
        set_in("interventions", 0, "parameters", "exercises", 1, "exercise", value="handstand"),
        "interventions[0].parameters.exercises[1].exercise",
    ),
    (
        "exercise sets 0",
        set_in("interventions", 0, "parameters", "exercises", 0, "sets", value=0),
        "interventions[0].parameters.exercises[0].sets",
    ),
    (
        "exercise unknown field",
        set_in("interventions", 0, "parameters", "exercises", 0, "weight", value=5),
        "interventions[0].parameters.exercises[0].weight",
    ),
    (
        "exercise list empty",
        set_in("interventions", 0, "parameters", "exercises", value=[]),
        "interventions[0].parameters.exercises",
    ),
    ("side unknown", set_in("interventions", 0, "side", value="middle"), "interventions[0].side"),
    (
        "region unknown",
        set_in("interventions", 0, "region", value="elbow"),
        "interventions[0].region",
    ),
    ("pain 11", set_in("pain_before", value=11), "pain_before"),
    ("pain negative", set_in("pain_after", value=-1), "pain_after"),
    ("pain as text", set_in("pain_after", value="4"), "pain_after"),
    ("oversized section", set_in("assessment", value="x" * (MAX_SECTION_CHARS + 1)), "assessment"),
    ("oversized patient message", set_in("patient_message", value="x" * 5001), "patient_message"),
    ("section not text", set_in("plan", value=["walk"]), "plan"),
    ("unknown top-level field", set_in("billing", value={}), "billing"),
    (
        "unknown intervention field",
        set_in("interventions", 0, "units", value=2),
        "interventions[0].units",
    ),
    ("unknown note type", set_in("note_type", value="phone_call"), "note_type"),
    (
        "laterality contradicts the code",
        set_in("diagnoses", 0, "laterality", value="left"),
        "diagnoses[0].laterality",
    ),
    ("duplicate diagnosis", set_in("diagnoses", 1, "code", value="M16.11"), "diagnoses[1].code"),
    (
        "home exercise unknown",
        set_in("home_program", 0, "exercise", value="handstand"),
        "home_program[0].exercise",
    ),
    (
        "home exercise twice",
        set_in("home_program", 1, "exercise", value="bridge"),
        "home_program[1].exercise",
    ),
    (
        "home exercise per_week 8",
        set_in("home_program", 0, "per_week", value=8),
        "home_program[0].per_week",
    ),
    (
        "home exercise dosage missing",
        drop("home_program", 0, "repetitions"),
        "home_program[0].repetitions",
    ),
    (
        "evaluation on a daily note",
        set_in("interventions", 3, "technique", value="evaluation-low"),
        "interventions[3].technique",
    ),
    (
        "re-evaluation on a daily note",
        set_in("interventions", 3, "technique", value="re-evaluation"),
        "interventions[3].technique",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "field"), [(m, f) for _, m, f in CASES], ids=[c[0] for c in CASES]
)
def test_invalid_content_names_the_offending_field(
    mutate: Mutation, field: str, catalog: Catalog
) -> None:
    raw = daily_note()
    mutate(raw)
    assert field in fields(raw, catalog)


@pytest.mark.parametrize("grade", ["V", 5])
def test_grade_five_is_refused_because_it_is_a_thrust_over_video(
    grade: Any, catalog: Catalog
) -> None:
    raw = daily_note()
    raw["interventions"][1]["parameters"]["grade"] = grade
    [error] = errors_for(raw, catalog)
    assert error["field"] == "interventions[1].parameters.grade"
    assert VIDEO_MESSAGE in error["message"]


def test_grade_out_of_range_says_which_grades_are_allowed(catalog: Catalog) -> None:
    raw = daily_note()
    raw["interventions"][1]["parameters"]["grade"] = 0
    [error] = errors_for(raw, catalog)
    assert "I, II, III, IV" in error["message"]
    assert VIDEO_MESSAGE not in error["message"]


def test_a_side_on_the_unspecified_code_saves_but_signing_names_the_sided_code(
    catalog: Catalog,
) -> None:
    raw = daily_note()
    raw["diagnoses"] = [{"code": "M54.30", "laterality": "left"}]
    note = validate_note_content(raw, catalog)
    [problem] = signing_problems(note, catalog)
    assert problem["field"] == "diagnoses[0].laterality"
    assert "M54.32" in problem["message"]


def test_a_side_the_code_contradicts_is_refused_at_once(catalog: Catalog) -> None:
    raw = daily_note()
    raw["diagnoses"] = [{"code": "M16.11", "laterality": "left"}]
    [error] = errors_for(raw, catalog)
    assert error["field"] == "diagnoses[0].laterality"
    assert "M16.12" in error["message"]


def test_a_side_on_a_code_without_sided_variants_is_kept(catalog: Catalog) -> None:
    raw = daily_note()
    raw["diagnoses"] = [{"code": "S39.012D", "laterality": "left"}]
    assert validate_note_content(raw, catalog).diagnoses[0].laterality == "left"


def test_laterality_hint_keeps_the_encounter_character(catalog: Catalog) -> None:
    raw = daily_note()
    raw["diagnoses"] = [{"code": "S76.011D", "laterality": "left"}]
    [error] = errors_for(raw, catalog)
    assert "S76.012D" in error["message"]


def test_every_problem_is_reported_at_once(catalog: Catalog) -> None:
    raw = daily_note()
    raw["interventions"][1]["parameters"]["grade"] = "V"
    raw["interventions"][2]["technique"] = "cupping"
    raw["home_program"][0]["exercise"] = "handstand"
    assert fields(raw, catalog) == [
        "interventions[1].parameters.grade",
        "interventions[2].technique",
        "home_program[0].exercise",
    ]


def test_content_that_is_not_an_object_is_invalid(catalog: Catalog) -> None:
    with pytest.raises(InvalidInput):
        validate_note_content(["daily"], catalog)  # type: ignore[arg-type]


def test_untimed_lines_take_minutes_and_no_parameters(catalog: Catalog) -> None:
    raw: dict[str, Any] = {
        "note_type": "initial_evaluation",
        "interventions": [{"technique": "evaluation-high", "minutes": 45}],
    }
    assert validate_note_content(raw, catalog).interventions[0].minutes == 45
    raw["interventions"][0]["parameters"] = {"complexity": "high"}
    assert fields(raw, catalog) == ["interventions[0].parameters.complexity"]


def test_one_evaluation_per_note(catalog: Catalog) -> None:
    raw = {
        "note_type": "initial_evaluation",
        "interventions": [
            {"technique": "evaluation-low", "minutes": 30},
            {"technique": "evaluation-high", "minutes": 30},
        ],
    }
    assert fields(raw, catalog) == ["interventions[1].technique"]


def test_a_complete_daily_note_may_be_signed(catalog: Catalog) -> None:
    note = validate_note_content(daily_note(), catalog)
    assert signing_problems(note, catalog) == []
    require_signable(note, catalog)


def test_a_draft_lists_what_it_lacks_before_signing(catalog: Catalog) -> None:
    note = validate_note_content({"note_type": "initial_evaluation", "plan": "  "}, catalog)
    assert [p["field"] for p in signing_problems(note, catalog)] == [
        "subjective",
        "assessment",
        "plan",
        "diagnoses",
        "interventions",
    ]
    with pytest.raises(InvalidInput):
        require_signable(note, catalog)


def test_a_re_evaluation_needs_its_re_evaluation_line(catalog: Catalog) -> None:
    raw = daily_note()
    raw["note_type"] = "re_evaluation"
    note = validate_note_content(raw, catalog)
    assert [p["field"] for p in signing_problems(note, catalog)] == ["interventions"]
    raw["interventions"].append({"technique": "re-evaluation", "minutes": 20})
    assert signing_problems(validate_note_content(raw, catalog), catalog) == []


def signing_messages(diagnoses: list[dict[str, Any]], catalog: Catalog) -> list[dict[str, str]]:
    raw = daily_note()
    raw["diagnoses"] = diagnoses
    note = validate_note_content(raw, catalog)  # a draft with these codes saves
    problems = [
        {"field": p["field"], "message": p["message"]} for p in signing_problems(note, catalog)
    ]
    if problems:
        with pytest.raises(InvalidInput) as exc:
            require_signable(note, catalog)
        assert exc.value.details == problems
    return problems


def test_any_billable_code_of_the_code_set_may_be_signed(catalog: Catalog) -> None:
    # M79.641 (pain in right hand) is not one of the clinic's conditions.
    assert catalog.find_code("M79.641") is None
    assert signing_messages([{"code": "M79.641", "laterality": "right"}], catalog) == []


def test_a_code_outside_the_code_set_is_refused_on_save(catalog: Catalog) -> None:
    raw = daily_note()
    raw["diagnoses"] = [{"code": "S73.10XA"}]
    [error] = errors_for(raw, catalog)
    assert error["field"] == "diagnoses[0].code"
    assert "S73.10XA is not an ICD-10-CM code" in error["message"]


@pytest.mark.parametrize(
    ("code", "named"),
    [
        ("M54.5", "M54.50, M54.51, M54.59"),
        ("M51.36", "M51.360, M51.361, M51.362, M51.369"),
        ("O26.89", "O26.891"),
        ("S73.10", "S73.101, S73.102, S73.109"),
    ],
)
def test_a_category_is_not_billable_and_signing_names_its_codes(
    catalog: Catalog, code: str, named: str
) -> None:
    [problem] = signing_messages([{"code": code}], catalog)
    assert problem["field"] == "diagnoses[0].code"
    assert problem["message"].startswith(f"{code} is not billable")
    assert named in problem["message"]


@pytest.mark.parametrize("code", ["S73.101", "S83.511", "S33.6"])
def test_an_injury_code_without_its_7th_character_is_refused(catalog: Catalog, code: str) -> None:
    [problem] = signing_messages([{"code": code}], catalog)
    assert problem["field"] == "diagnoses[0].code"
    assert f"{code} needs its 7th character" in problem["message"]
    assert "A initial encounter" in problem["message"]


def test_an_excludes1_pair_is_refused_naming_both_codes(catalog: Catalog) -> None:
    [problem] = signing_messages([{"code": "M54.50"}, {"code": "M51.360"}], catalog)
    assert problem["field"] == "diagnoses[1].code"
    assert "M51.360 cannot be coded with M54.50" in problem["message"]
    assert "Excludes1 note at M54.5" in problem["message"]
    # The same disc without the excluded back-pain code signs.
    assert signing_messages([{"code": "M51.360"}, {"code": "M16.11"}], catalog) == []


def test_unspecified_side_with_a_recorded_side_names_the_sided_code(catalog: Catalog) -> None:
    [problem] = signing_messages([{"code": "M17.10", "laterality": "left"}], catalog)
    assert problem["field"] == "diagnoses[0].laterality"
    assert "use M17.12" in problem["message"]
    # Without a bilateral code beside it, both sides are coded.
    [both] = signing_messages([{"code": "M75.100", "laterality": "bilateral"}], catalog)
    assert "M75.101 and M75.102" in both["message"]
    # No side recorded: the unspecified code is what ICD-10-CM asks for.
    assert signing_messages([{"code": "M17.10"}], catalog) == []


def test_the_7th_character_is_kept_in_the_sided_hint(catalog: Catalog) -> None:
    [problem] = signing_messages([{"code": "S73.109D", "laterality": "right"}], catalog)
    assert "use S73.101D" in problem["message"]
