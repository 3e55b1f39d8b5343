from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from telehealth.catalog import Catalog, load_catalog, parse_catalog
from telehealth.catalog.entries import CPT_PATTERN, ICD10CM_PATTERN
from telehealth.catalog.icd10cm import load_code_set
from telehealth.catalog.loader import KNOWN_CPT_TIMED, packaged_documents
from telehealth.errors import InvalidInput, NotFound

ARTICLE_CONDITIONS = {
    "hip-osteoarthritis",
    "sacroiliac-joint-dysfunction",
    "sciatica",
    "lumbar-spondylosis",
    "herniated-lumbar-disc",
    "pregnancy-low-back-pelvic-pain",
    "muscle-strain-low-back-hip",
    "ligament-sprain-lumbar-hip",
}
ARTICLE_TECHNIQUES = {"therapeutic-exercise", "iastm", "myofascial-release", "joint-mobilization"}


def documents() -> dict[str, Any]:
    return {kind: json.loads(raw) for kind, raw in packaged_documents().items()}


def parse(docs: dict[str, Any]) -> Catalog:
    return parse_catalog(
        json.dumps(docs["conditions"]),
        json.dumps(docs["techniques"]),
        json.dumps(docs["exercises"]),
        load_code_set(),
    )


def fields_of(exc: pytest.ExceptionInfo[InvalidInput]) -> list[str]:
    return [d["field"] for d in exc.value.details]


def test_every_packaged_file_is_versioned_with_one_list() -> None:
    for kind, doc in documents().items():
        assert set(doc) == {"version", kind}
        assert isinstance(doc["version"], str) and doc["version"]
        assert isinstance(doc[kind], list) and doc[kind]


def test_packaged_catalog_loads_with_the_file_versions(catalog: Catalog) -> None:
    docs = documents()
    assert dict(catalog.versions) == {kind: doc["version"] for kind, doc in docs.items()}
    assert len(catalog.conditions) == len(docs["conditions"]["conditions"])
    assert len(catalog.techniques) == len(docs["techniques"]["techniques"])
    assert len(catalog.exercises) == len(docs["exercises"]["exercises"])


def test_every_code_matches_its_code_set_pattern(catalog: Catalog) -> None:
    codes = [code.code for c in catalog.conditions.values() for code in c.codes]
    assert codes and all(ICD10CM_PATTERN.fullmatch(code) for code in codes)
    assert all(CPT_PATTERN.fullmatch(t.cpt) for t in catalog.techniques.values())


@pytest.mark.parametrize("code", ["M54.5", "M16.11", "S33.5XXA", "O26.893", "G57.03"])
def test_icd_pattern_accepts_real_shapes(code: str) -> None:
    assert ICD10CM_PATTERN.fullmatch(code)


@pytest.mark.parametrize("code", ["m16.11", "M1611", "U07.1", "M16.", "16.11", "M16.11111"])
def test_icd_pattern_rejects_malformed_codes(code: str) -> None:
    assert not ICD10CM_PATTERN.fullmatch(code)


def test_the_articles_conditions_and_techniques_are_all_present(catalog: Catalog) -> None:
    assert {c.id for c in catalog.conditions.values() if c.from_article} == ARTICLE_CONDITIONS
    assert {t.id for t in catalog.techniques.values() if t.from_article} == ARTICLE_TECHNIQUES


def test_reference_codes_sit_on_the_right_conditions(catalog: Catalog) -> None:
    expected = {
        "M16.11": "hip-osteoarthritis",
        "M16.0": "hip-osteoarthritis",
        "M46.1": "sacroiliac-joint-dysfunction",
        "M54.41": "sciatica",
        "M47.816": "lumbar-spondylosis",
        "M51.26": "herniated-lumbar-disc",
        "O26.893": "pregnancy-low-back-pelvic-pain",
        "S39.012A": "muscle-strain-low-back-hip",
        "S33.5XXA": "ligament-sprain-lumbar-hip",
        "M54.50": "low-back-pain",
        "G57.01": "piriformis-syndrome",
        "M48.062": "lumbar-spinal-stenosis",
        "M70.62": "trochanteric-bursitis",
    }
    for code, condition_id in expected.items():
        found = catalog.find_code(code)
        assert found is not None, code
        assert found[0].id == condition_id


def test_sided_codes_come_in_left_right_pairs(catalog: Catalog) -> None:
    for condition in catalog.conditions.values():
        sides = {c.laterality for c in condition.codes}
        assert ("left" in sides) == ("right" in sides), condition.id


def test_techniques_bill_as_cms_defines(catalog: Catalog) -> None:
    cpts = {t.id: (t.cpt, t.timed) for t in catalog.techniques.values()}
    assert cpts["therapeutic-exercise"] == ("97110", True)
    assert cpts["neuromuscular-reeducation"] == ("97112", True)
    assert cpts["therapeutic-activities"] == ("97530", True)
    assert cpts["self-care-training"] == ("97535", True)
    for manual in ("joint-mobilization", "myofascial-release", "iastm", "manual-therapy"):
        assert cpts[manual] == ("97140", True)
        assert catalog.technique(manual).family == "manual-therapy"
    for untimed, code in [
        ("evaluation-low", "97161"),
        ("evaluation-moderate", "97162"),
        ("evaluation-high", "97163"),
        ("re-evaluation", "97164"),
        ("group-therapy", "97150"),
    ]:
        assert cpts[untimed] == (code, False)
    assert all(KNOWN_CPT_TIMED[cpt] == timed for cpt, timed in cpts.values())


def test_joint_mobilization_allows_grades_one_to_four_and_refuses_five(catalog: Catalog) -> None:
    grade = catalog.technique("joint-mobilization").parameter("grade")
    assert grade is not None and grade.required
    assert grade.allowed == ("I", "II", "III", "IV")
    assert grade.refused is not None and "video" in grade.refused["V"]


def test_exercise_library_covers_regions_and_kinds(catalog: Catalog) -> None:
    exercises = list(catalog.exercises.values())
    assert len(exercises) >= 20
    for region in ("hip", "lower_back", "abdomen", "neck", "shoulder", "knee"):
        assert any(e.region == region for e in exercises), region
    for kind in ("stretch", "strengthen", "mobility"):
        assert any(e.kind == kind for e in exercises), kind
    for named in ("knee-to-chest-stretch", "piriformis-stretch", "bridge", "bird-dog", "hip-hinge"):
        assert named in catalog.exercises


def test_every_exercise_warns_about_pain_travelling_down_the_leg_or_arm(catalog: Catalog) -> None:
    for exercise in catalog.exercises.values():
        assert len(exercise.steps) >= 2
        if exercise.region in ("neck", "shoulder"):
            assert any("travels down the arm" in c for c in exercise.cautions), exercise.id
        elif exercise.id != "diaphragmatic-breathing":
            assert any("pain shoots down the leg" in c for c in exercise.cautions), exercise.id


def test_upper_body_joints_and_muscles_can_be_recorded(catalog: Catalog) -> None:
    joint = catalog.technique("joint-mobilization").parameter("joint")
    muscles = catalog.technique("myofascial-release").parameter("muscles")
    assert joint is not None and muscles is not None
    assert {"cervical", "glenohumeral", "tibiofemoral", "patellofemoral"} <= set(
        joint.allowed or ()
    )
    assert {"upper trapezius", "infraspinatus", "quadriceps"} <= set(muscles.allowed or ())


def test_catalog_is_read_only(catalog: Catalog) -> None:
    with pytest.raises(TypeError):
        catalog.conditions["x"] = catalog.condition("sciatica")  # type: ignore[index]
    with pytest.raises(ValidationError):
        catalog.condition("sciatica").name = "changed"  # type: ignore[misc]


def test_lookups_of_unknown_ids_raise_not_found(catalog: Catalog) -> None:
    with pytest.raises(NotFound):
        catalog.condition("no-such-condition")
    with pytest.raises(NotFound):
        catalog.technique("spinal-manipulation")
    with pytest.raises(NotFound):
        catalog.exercise("handstand")
    assert catalog.find_code("Z99.99") is None


def test_duplicate_condition_ids_are_rejected() -> None:
    docs = documents()
    conditions = docs["conditions"]["conditions"]
    twin = {**conditions[0], "codes": [{"code": "M99.99", "description": "placeholder"}]}
    conditions.append(twin)
    with pytest.raises(InvalidInput) as exc:
        parse(docs)
    assert f"conditions[{len(conditions) - 1}].id" in fields_of(exc)


def test_duplicate_exercise_and_technique_ids_are_rejected() -> None:
    docs = documents()
    docs["exercises"]["exercises"].append(docs["exercises"]["exercises"][0])
    docs["techniques"]["techniques"].append(docs["techniques"]["techniques"][0])
    with pytest.raises(InvalidInput) as exc:
        parse(docs)
    fields = fields_of(exc)
    assert any(f.startswith("exercises[") and f.endswith("].id") for f in fields)
    assert any(f.startswith("techniques[") and f.endswith("].id") for f in fields)


def test_one_icd_code_on_two_conditions_is_rejected() -> None:
    docs = documents()
    docs["conditions"]["conditions"][1]["codes"].append({"code": "M16.11", "description": "stolen"})
    with pytest.raises(InvalidInput) as exc:
        parse(docs)
    assert fields_of(exc)[0].startswith("conditions[1].codes[")


def test_malformed_codes_are_rejected_with_their_path() -> None:
    docs = documents()
    docs["conditions"]["conditions"][0]["codes"][0]["code"] = "M16-11"
    with pytest.raises(InvalidInput) as exc:
        parse(docs)
    assert fields_of(exc) == ["conditions[0].codes[0].code"]


def test_unknown_cpt_or_wrong_billing_kind_is_rejected() -> None:
    docs = documents()
    docs["techniques"]["techniques"][0]["cpt"] = "98940"
    docs["techniques"]["techniques"][1]["timed"] = False
    with pytest.raises(InvalidInput) as exc:
        parse(docs)
    assert fields_of(exc) == ["techniques[0].cpt", "techniques[1].timed"]


def test_unknown_fields_in_a_document_are_rejected() -> None:
    docs = documents()
    docs["exercises"]["exercises"][0]["colour"] = "blue"
    with pytest.raises(InvalidInput) as exc:
        parse(docs)
    assert fields_of(exc) == ["exercises[0].colour"]


NEW_CONDITION = {
    "id": "meralgia-paresthetica",
    "name": "Meralgia paresthetica",
    "plain_name": "Pinched nerve at the front of the thigh",
    "plain_explanation": "A skin nerve of the thigh is squeezed near the hip bone.",
    "region": "hip",
    "codes": [
        {"code": "G57.11", "description": "Meralgia paresthetica, right", "laterality": "right"},
        {"code": "G57.12", "description": "Meralgia paresthetica, left", "laterality": "left"},
    ],
}
NEW_EXERCISE = {
    "id": "wall-sit",
    "name": "Wall sit",
    "region": "hip",
    "kind": "strengthen",
    "steps": ["Stand with your back to a wall.", "Slide down a little and hold."],
    "cautions": ["Stop if pain shoots down the leg."],
    "dosage": {"sets": 1, "repetitions": 3, "hold_seconds": 10, "per_day": 1, "per_week": 3},
}


def test_admin_extras_merge_without_touching_the_packaged_catalog(catalog: Catalog) -> None:
    merged = catalog.with_extras({"conditions": [NEW_CONDITION], "exercises": [NEW_EXERCISE]})
    assert merged.condition("meralgia-paresthetica").name == "Meralgia paresthetica"
    assert merged.exercise("wall-sit").dosage.hold_seconds == 10
    found = merged.find_code("G57.12")
    assert found is not None and found[0].id == "meralgia-paresthetica"
    assert "meralgia-paresthetica" not in catalog.conditions
    assert len(merged.techniques) == len(catalog.techniques)
    assert load_catalog({"exercises": [NEW_EXERCISE]}).exercise("wall-sit").name == "Wall sit"


def test_admin_extras_colliding_with_packaged_ids_are_rejected(catalog: Catalog) -> None:
    clash = {**NEW_CONDITION, "id": "sciatica"}
    with pytest.raises(InvalidInput) as exc:
        catalog.with_extras({"conditions": [clash]})
    assert fields_of(exc) == ["conditions[0].id"]


def test_admin_extras_duplicated_among_themselves_are_rejected(catalog: Catalog) -> None:
    with pytest.raises(InvalidInput) as exc:
        catalog.with_extras({"exercises": [NEW_EXERCISE, NEW_EXERCISE]})
    assert fields_of(exc) == ["exercises[1].id"]


def test_admin_extras_reusing_a_packaged_icd_code_are_rejected(catalog: Catalog) -> None:
    clash = {**NEW_CONDITION, "codes": [{"code": "M54.50", "description": "again"}]}
    with pytest.raises(InvalidInput) as exc:
        catalog.with_extras({"conditions": [clash]})
    assert fields_of(exc) == ["conditions[0].codes[0].code"]


def test_admin_techniques_need_a_known_cpt_billed_the_cms_way(catalog: Catalog) -> None:
    technique = {
        "id": "dry-needling",
        "name": "Dry needling",
        "plain_name": "Dry needling",
        "plain_explanation": "Thin needles into tight muscle.",
        "cpt": "20560",
        "timed": True,
    }
    with pytest.raises(InvalidInput) as exc:
        catalog.with_extras({"techniques": [technique]})
    assert exc.value.details[0]["field"] == "techniques[0].cpt"
    gait = {**technique, "id": "gait-training", "cpt": "97116"}
    assert catalog.with_extras({"techniques": [gait]}).technique("gait-training").timed


def test_admin_extras_with_unknown_fields_or_wrong_types_are_rejected(catalog: Catalog) -> None:
    with pytest.raises(InvalidInput) as exc:
        catalog.with_extras({"conditions": [{**NEW_CONDITION, "icd": "M54.5"}]})
    assert fields_of(exc) == ["conditions[0].icd"]
    with pytest.raises(InvalidInput) as exc:
        catalog.with_extras({"exercises": [{**NEW_EXERCISE, "dosage": {"sets": "3"}}]})
    assert "exercises[0].dosage.sets" in fields_of(exc)
    with pytest.raises(InvalidInput):
        catalog.with_extras({"medications": []})


@pytest.mark.parametrize(
    ("code", "laterality", "field", "message"),
    [
        ("M54.5", None, "code", "not billable"),
        ("M51.36", None, "code", "not billable"),
        ("S73.10XA", None, "code", "not in the ICD-10-CM code set"),
        ("G57.13", "left", "laterality", "coded for bilateral"),
    ],
)
def test_admin_conditions_need_billable_codes_of_the_code_set(
    catalog: Catalog, code: str, laterality: str | None, field: str, message: str
) -> None:
    entry: dict[str, Any] = {"code": code, "description": "typed by an admin"}
    if laterality:
        entry["laterality"] = laterality
    with pytest.raises(InvalidInput) as exc:
        catalog.with_extras({"conditions": [{**NEW_CONDITION, "codes": [entry]}]})
    assert fields_of(exc) == [f"conditions[0].codes[0].{field}"]
    assert message in exc.value.details[0]["message"]


def test_the_packaged_catalog_is_refused_when_a_code_is_not_billable() -> None:
    docs = documents()
    docs["conditions"]["conditions"][0]["codes"][0] = {"code": "M16.1", "description": "parent"}
    with pytest.raises(InvalidInput) as exc:
        parse(docs)
    assert fields_of(exc) == ["conditions[0].codes[0].code"]
