"""Every instrument against hand-computed scores: edges, missing items, and refused answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from telehealth.measures.packs import installed, parse_pack
from telehealth.measures.scoring import (
    InvalidAnswers,
    TableError,
    load_table,
    parse_table,
    score,
)
from telehealth.measures.words import change_words

PACK_DIR = Path(__file__).parents[2] / "data" / "measures-pack"


def instrument(key: str, pack: bool = False):
    return (installed(PACK_DIR) if pack else installed(None)).by_key[key]


def items(key: str, value: int, pack: bool = False) -> dict[str, int]:
    return {item.key: value for item in instrument(key, pack).items}


def problems(key: str, answers: dict[str, Any], pack: bool = False) -> dict[str, str]:
    with pytest.raises(InvalidAnswers) as caught:
        score(instrument(key, pack), answers)
    return caught.value.problems


def test_the_table_loads_with_its_versions_and_codes() -> None:
    table = load_table()
    assert table.version == "measures-v1"
    assert table.instruments["nprs"].loinc_score == "72514-3"
    assert table.instruments["odi"].loinc_panel == "97908-8"
    assert table.instruments["odi"].loinc_score == "97909-6"
    assert table.instruments["hoos_jr"].loinc_panel == "82316-1"
    assert table.instruments["hoos_jr"].loinc_score == "82323-7"
    assert len(table.instruments["lefs"].items) == 20
    assert table.instruments["lefs"].mcid == 9


@pytest.mark.parametrize(("pain", "expected"), [(0, 0.0), (6, 6.0), (10, 10.0)])
def test_nprs_is_the_one_answer(pain: int, expected: float) -> None:
    assert score(instrument("nprs"), {"pain": pain}).value == expected


def test_nprs_refuses_out_of_range_missing_and_unknown() -> None:
    assert problems("nprs", {"pain": 11}) == {"pain": "must be from 0 to 10"}
    assert problems("nprs", {"pain": -1}) == {"pain": "must be from 0 to 10"}
    assert "not answered" in problems("nprs", {})["pain"]
    assert problems("nprs", {"pain": 3, "mood": 2}) == {"mood": "not a question of this measure"}
    assert problems("nprs", {"pain": True}) == {"pain": "answer with a whole number"}
    assert problems("nprs", {"pain": "5"}) == {"pain": "answer with a whole number"}


def test_lefs_sums_twenty_items_from_0_to_80() -> None:
    assert score(instrument("lefs"), items("lefs", 0)).value == 0.0
    assert score(instrument("lefs"), items("lefs", 4)).value == 80.0
    answers = items("lefs", 2)
    answers["hopping"] = 4  # 19 x 2 + 4
    result = score(instrument("lefs"), answers)
    assert result.value == 42.0 and result.detail["prorated"] is False


def test_lefs_prorates_up_to_four_missing_items() -> None:
    answers = items("lefs", 3)
    for key in ("hopping", "running_uneven", "sharp_turns", "running_even"):
        del answers[key]
    # 16 answered x 3 = 48 of 64, prorated to 80: 60.
    result = score(instrument("lefs"), answers)
    assert result.value == 60.0
    assert result.detail == {
        "raw": 48,
        "answered": 16,
        "missing": ["running_even", "running_uneven", "sharp_turns", "hopping"],
        "prorated": True,
    }
    answers = items("lefs", 1)
    del answers["hopping"]
    answers["squatting"] = 2
    # 20 of 19 items -> 20 x 20 / 19 = 21.05..., one decimal half up.
    assert score(instrument("lefs"), answers).value == 21.1


def test_lefs_with_five_missing_is_not_scorable() -> None:
    answers = items("lefs", 3)
    for key in ("hopping", "running_uneven", "sharp_turns", "running_even", "squatting"):
        del answers[key]
    found = problems("lefs", answers)
    assert set(found) == {"hopping", "running_uneven", "sharp_turns", "running_even", "squatting"}
    assert "at most 4 may be left out" in found["hopping"]
    assert problems("lefs", {**items("lefs", 3), "walking": 5}) == {
        "walking": "not a question of this measure"
    }
    assert problems("lefs", {**items("lefs", 3), "hopping": 5}) == {
        "hopping": "must be from 0 to 4"
    }


def psfs(*ratings: int, key: str = "psfs") -> float:
    activities = [{"activity": f"Activity {n}", "rating": r} for n, r in enumerate(ratings)]
    return score(instrument(key), {"activities": activities}).value


def test_psfs_is_the_mean_of_three_to_five_activities() -> None:
    assert psfs(7, 5, 6) == 6.0
    assert psfs(3, 4, 4) == 3.7  # 11 / 3 = 3.67
    assert psfs(0, 0, 0, 0, 0) == 0.0
    assert psfs(10, 10, 10, 10) == 10.0
    assert psfs(1, 2, 2, 2) == 1.8  # 7 / 4 = 1.75, half up


def test_psfs_refuses_too_few_or_many_and_bad_ratings() -> None:
    two = [{"activity": "Stairs", "rating": 3}, {"activity": "Walking", "rating": 4}]
    assert problems("psfs", {"activities": two}) == {"activities": "name from 3 to 5 activities"}
    six = [{"activity": f"A{n}", "rating": 3} for n in range(6)]
    assert "activities" in problems("psfs", {"activities": six})
    bad = [
        {"activity": "Stairs", "rating": 11},
        {"activity": " ", "rating": 3},
        {"activity": "stairs", "rating": 3},
    ]
    assert problems("psfs", {"activities": bad}) == {
        "rating_1": "must be from 0 to 10",
        "activity_2": "name the activity",
        "activity_3": "this activity is already named",
    }
    assert problems("psfs", {"activities": "stairs"}) == {
        "activities": "a list of activities is needed"
    }
    assert problems("psfs", {"activities": [], "pain": 3}) == {
        "pain": "not a question of this measure"
    }


def test_psfs_versions_store_their_direction() -> None:
    original, reversed_ = instrument("psfs"), instrument("psfs_2")
    assert original.version == "1995" and original.higher_is_better
    assert reversed_.version == "2.0" and not reversed_.higher_is_better
    assert original.anchors[10].startswith("Able") and reversed_.anchors[0].startswith("Able")
    assert not reversed_.offered
    # The same ratings, the same mean; what "better" means differs.
    assert psfs(2, 4, 6, key="psfs_2") == 4.0
    assert change_words(original, 4, 6).endswith(
        "better, less than the 2.3 points that count as a real change."
    )
    assert "2 points worse" in change_words(reversed_, 4, 6)


def test_licensed_instruments_are_unavailable_without_a_pack() -> None:
    for key in ("odi", "hoos_jr", "start_back"):
        assert not instrument(key).available
        assert instrument(key).items[0].asks is None
        assert "not installed" in problems(key, items(key, 0))["instrument"]
    offered = {i.key for i in installed(None).offered}
    assert offered == {"nprs", "lefs", "psfs"}
    assert {i.key for i in installed(PACK_DIR).offered} == {
        "nprs",
        "lefs",
        "psfs",
        "odi",
        "hoos_jr",
        "start_back",
    }


def test_odi_is_the_percent_of_the_answered_maximum() -> None:
    assert score(instrument("odi", True), items("odi", 0, True)).value == 0.0
    assert score(instrument("odi", True), items("odi", 5, True)).value == 100.0
    answers = items("odi", 2, True)
    answers["lifting"] = 4  # 22 of 50
    assert score(instrument("odi", True), answers).value == 44.0
    answers = {**items("odi", 2, True), "pain_intensity": 0}
    del answers["sex_life"]  # 16 of 45 (the published example of a skipped section)
    result = score(instrument("odi", True), answers)
    assert result.value == 35.6 and result.detail["missing"] == ["sex_life"]


def test_odi_refuses_two_missing_sections_and_bad_answers() -> None:
    answers = items("odi", 2, True)
    del answers["sex_life"], answers["travelling"]
    assert set(problems("odi", answers, True)) == {"sex_life", "travelling"}
    assert problems("odi", {**items("odi", 2, True), "walking": 6}, True) == {
        "walking": "must be from 0 to 5"
    }


def test_hoos_jr_converts_the_raw_sum_through_the_pack_table() -> None:
    hoos = instrument("hoos_jr", True)
    assert len(hoos.conversion) == 25
    assert score(hoos, items("hoos_jr", 0, True)).value == 100.0
    assert score(hoos, items("hoos_jr", 4, True)).value == hoos.conversion[24] == 0.0
    answers = {**items("hoos_jr", 1, True), "stairs": 3}  # raw 8
    result = score(hoos, answers)
    assert result.detail["raw"] == 8 and result.value == hoos.conversion[8]
    answers.pop("sitting")
    assert "every question must be answered" in problems("hoos_jr", answers, True)["sitting"]


def test_start_back_is_scored_by_the_intake_tool() -> None:
    answers = items("start_back", 0, True)
    low = score(instrument("start_back", True), answers)
    assert low.value == 0.0 and low.detail["group"] == "low"
    answers.update(fear=1, anxiety=1, catastrophising=1, bothersomeness=4)
    high = score(instrument("start_back", True), answers)
    assert high.value == 4.0 and high.detail == {**high.detail, "psychosocial": 4, "group": "high"}
    answers = {**items("start_back", 0, True), "low_mood": 1}
    answers.update(leg_pain=1, shoulder_or_neck_pain=1, walked_short_distances_only=1)
    medium = score(instrument("start_back", True), answers)
    assert medium.value == 4.0 and medium.detail["psychosocial"] == 1
    assert medium.detail["group"] == "medium"
    assert problems("start_back", {**answers, "fear": 2}, True) == {"fear": "must be from 0 to 1"}


def test_change_words_compare_with_the_mcid() -> None:
    nprs, lefs = instrument("nprs"), instrument("lefs")
    assert change_words(nprs, 6, 3) == (
        "Your pain went from 6 to 3: 3 points better, at least the 2 points that count as a real change."
    )
    assert change_words(nprs, 3, 4).endswith(
        "1 point worse, less than the 2 points that count as a real change."
    )
    assert change_words(lefs, 40, 52) == (
        "Your Lower Extremity Functional Scale score went from 40 to 52 (out of 80):"
        " 12 points better, at least the 9 points that count as a real change."
    )
    assert "less than the 9 points" in change_words(lefs, 40, 48)
    assert change_words(lefs, 40, 40).endswith("no change.")


def test_broken_tables_and_packs_stop_start_up() -> None:
    raw = json.loads(
        (Path(__file__).parents[3] / "telehealth/measures/data/instruments-v1.json").read_text()
    )
    bad_kind = json.loads(json.dumps(raw))
    bad_kind["instruments"]["nprs"]["kind"] = "median"
    with pytest.raises(TableError, match="unknown kind"):
        parse_table(bad_kind)
    leaked = json.loads(json.dumps(raw))
    leaked["instruments"]["odi"]["items"][0]["asks"] = "Pain intensity"
    with pytest.raises(TableError, match="comes from a pack"):
        parse_table(leaked)
    pack = json.loads((PACK_DIR / "pack.json").read_text())
    table = load_table()
    changes: list[tuple[Callable[[Any], object], str]] = [
        (lambda p: p["licence"].update(attestation=""), "attestation"),
        (lambda p: p["instruments"]["odi"].update(version="2.0"), "version"),
        (lambda p: p["instruments"]["hoos_jr"]["conversion"].pop(), "raw 0 to 24"),
        (lambda p: p["instruments"]["hoos_jr"]["conversion"].__setitem__(5, 99.0), "never rise"),
        (lambda p: p["instruments"]["odi"]["items"]["lifting"]["choices"].pop(), "one choice"),
        (lambda p: p["instruments"].update(nprs={"version": "1"}), "not a licensed"),
    ]
    for change, message in changes:
        broken = json.loads(json.dumps(pack))
        change(broken)
        with pytest.raises(TableError, match=message):
            parse_pack(broken, table)
    with pytest.raises(TableError, match="instrument pack"):
        installed(PACK_DIR / "missing")
    assert replace(table.instruments["odi"], attestation="x").available
