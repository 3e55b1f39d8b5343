"""The red-flag rule table, row by row, and the cases where a wrong answer would be dangerous."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import pytest

from telehealth.intake.triage import (
    Answer,
    IncompleteAnswers,
    Rule,
    TableError,
    Tier,
    load_table,
    parse_table,
    triage,
)

TABLE = load_table()


def calm(**changes: Answer) -> dict[str, Answer]:
    """A 35-year-old with long-standing pain and no red flag, with the given answers changed."""
    answers: dict[str, Answer] = {
        key: False for key, question in TABLE.questions.items() if question.kind == "boolean"
    }
    answers["age"] = 35
    answers.update(changes)
    return answers


def triggering(rule: Rule) -> dict[str, Answer]:
    """The calm intake with just what this rule needs made true."""
    changes: dict[str, Answer] = {}
    for condition in rule.conditions:
        if condition.equals is not None:
            changes[condition.key] = condition.equals
        elif condition.above is not None:
            changes[condition.key] = condition.above + 1
        elif condition.below is not None:
            changes[condition.key] = condition.below - 1
    return calm(**changes)


def test_a_calm_intake_may_book() -> None:
    result = triage(calm())
    assert result.tier is Tier.ROUTINE
    assert result.booking_allowed and result.matched == ()
    assert "book your free screening" in result.patient_words
    assert result.table_version == "triage-v1"


@pytest.mark.parametrize("rule", TABLE.rules, ids=[rule.id for rule in TABLE.rules])
def test_each_row_raises_its_tier_and_names_itself(rule: Rule) -> None:
    result = triage(triggering(rule))
    assert result.tier is rule.tier
    assert rule in result.matched
    assert not result.booking_allowed
    # Any one of its answers taken back, the row no longer matches.
    for condition in rule.conditions:
        answers = triggering(rule)
        answers[condition.key] = calm()[condition.key]
        assert rule not in triage(answers).matched


@pytest.mark.parametrize(
    ("changes", "tier", "rules"),
    [
        ({"saddle_numbness": True}, Tier.EMERGENCY, {"cauda-equina-saddle"}),
        ({"new_bladder_problem": True}, Tier.EMERGENCY, {"cauda-equina-bladder"}),
        ({"fever": True}, Tier.URGENT, {"fever"}),
        # Fever with injected drugs: an emergency, and both concerns are shown.
        (
            {"fever": True, "iv_drug_use": True},
            Tier.EMERGENCY,
            {"fever", "drug-use", "infection-drug-use"},
        ),
        # Exactly 50 is not "after 50"; 51 with new pain is.
        ({"age": 50, "new_onset": True}, Tier.ROUTINE, set()),
        ({"age": 51, "new_onset": True}, Tier.URGENT, {"older-new-onset"}),
        ({"age": 51, "new_onset": False}, Tier.ROUTINE, set()),
        ({"age": 19, "new_onset": True}, Tier.URGENT, {"younger-new-onset"}),
        ({"age": 20, "new_onset": True}, Tier.ROUTINE, set()),
        ({"minor_trauma": True}, Tier.ROUTINE, set()),
        ({"minor_trauma": True, "osteoporosis": True}, Tier.URGENT, {"fragility-osteoporosis"}),
        ({"hot_swollen_joint": True}, Tier.ROUTINE, set()),
        (
            {"hot_swollen_joint": True, "fever": True},
            Tier.EMERGENCY,
            {"hip-septic-joint", "fever"},
        ),
        # An urgent and an emergency row together: the worse wins, both are kept.
        (
            {"cancer_history": True, "major_trauma": True},
            Tier.EMERGENCY,
            {"cancer-history", "major-trauma"},
        ),
    ],
)
def test_hand_checked_intakes(changes: dict[str, Answer], tier: Tier, rules: set[str]) -> None:
    result = triage(calm(**changes))
    assert result.tier is tier
    assert {rule.id for rule in result.matched} == rules


def test_the_patient_is_told_plainly_what_to_do() -> None:
    emergency = triage(calm(saddle_numbness=True)).patient_words
    assert "call 911" in emergency and "emergency department now" in emergency
    urgent = triage(calm(fever=True)).patient_words
    assert "see your doctor" in urgent and "will call you" in urgent


def test_an_unanswered_red_flag_is_never_read_as_no() -> None:
    answers = calm()
    del answers["saddle_numbness"]
    with pytest.raises(IncompleteAnswers) as refused:
        triage(answers)
    assert refused.value.problems == {"saddle_numbness": "not answered"}


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("fever", "yes", "answer yes or no"),
        ("fever", 1, "answer yes or no"),
        ("age", True, "answer with a whole number"),
        ("age", 50.5, "answer with a whole number"),
        ("age", 130, "must be from 0 to 120"),
        ("age", -1, "must be from 0 to 120"),
        ("favourite_colour", True, "not a question of this intake"),
    ],
)
def test_wrong_answers_are_refused_by_name(key: str, value: Any, why: str) -> None:
    with pytest.raises(IncompleteAnswers) as refused:
        triage({**calm(), key: value})
    assert refused.value.problems == {key: why}


def test_every_question_is_used_by_some_rule() -> None:
    used = {condition.key for rule in TABLE.rules for condition in rule.conditions}
    assert used == set(TABLE.questions)


def test_every_tier_but_routine_has_rules_and_every_rule_a_source() -> None:
    assert {rule.tier for rule in TABLE.rules} == {Tier.URGENT, Tier.EMERGENCY}
    assert all(rule.source in TABLE.sources for rule in TABLE.rules)


def _raw() -> dict[str, Any]:
    path = resources.files("telehealth.intake").joinpath("data", "triage-v1.json")
    return dict(json.loads(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda t: t["rules"][0].update(tier="soon"), "unknown tier"),
        (lambda t: t["rules"][0].update(when={"shoe_size": True}), "is not a question"),
        (lambda t: t["rules"][0].update(when={"age": True}), "needs above and/or below"),
        (lambda t: t["rules"][0].update(when={"fever": "yes"}), "needs true or false"),
        (lambda t: t["rules"][0].update(when={}), "no conditions"),
        (lambda t: t["rules"][1].update(id=t["rules"][0]["id"]), "rule ids repeat"),
        (lambda t: t["rules"][0].update(source="a blog"), "unknown source"),
        (lambda t: t["patient_words"].pop("urgent"), "every tier"),
        (lambda t: t["questions"]["age"].update(type="text"), "unknown type"),
    ],
)
def test_a_malformed_table_is_refused_whole(spoil: Any, message: str) -> None:
    table = copy.deepcopy(_raw())
    spoil(table)
    with pytest.raises(TableError, match=message):
        parse_table(table)
