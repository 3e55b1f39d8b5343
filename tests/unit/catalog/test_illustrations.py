"""Every packaged exercise has its drawing, plain instructions, cues and common mistakes."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from telehealth.catalog import Catalog
from telehealth.errors import InvalidInput
from telehealth.resources import web_dir

SVG = "{http://www.w3.org/2000/svg}"


def test_every_catalog_exercise_has_a_drawing_with_a_title(catalog: Catalog) -> None:
    assert len(catalog.exercises) >= 31
    for exercise in catalog.exercises.values():
        assert exercise.illustration == f"/static/exercises/{exercise.id}.svg", exercise.id
        path = web_dir() / "static" / "exercises" / f"{exercise.id}.svg"
        # Our own files from the checkout, not input from anyone.
        root = ElementTree.parse(path).getroot()  # noqa: S314
        assert root.tag == f"{SVG}svg" and root.get("role") == "img", exercise.id
        title = root.find(f"{SVG}title")
        assert title is not None and title.text == exercise.name


def test_every_catalog_exercise_says_how_what_to_keep_in_mind_and_what_goes_wrong(
    catalog: Catalog,
) -> None:
    for exercise in catalog.exercises.values():
        assert exercise.instructions, exercise.id
        assert 2 <= len(exercise.cues) <= 3, exercise.id
        assert 1 <= len(exercise.mistakes) <= 2, exercise.id


def test_the_catalog_covers_neck_shoulder_and_knee(catalog: Catalog) -> None:
    regions = {e.region for e in catalog.exercises.values()}
    assert {"neck", "shoulder", "knee", "hip", "lower_back"} <= regions


def test_an_added_exercise_cannot_claim_a_drawing(catalog: Catalog) -> None:
    entry = catalog.exercise("bridge").model_dump()
    entry["id"] = "new-bridge"
    with pytest.raises(InvalidInput) as raised:
        catalog.with_extras({"exercises": [entry]}, check_codes=False)
    assert raised.value.details[0]["field"] == "exercises[0].illustrated"
    entry["illustrated"] = False
    added = catalog.with_extras({"exercises": [entry]}, check_codes=False)
    assert added.exercise("new-bridge").illustration is None
