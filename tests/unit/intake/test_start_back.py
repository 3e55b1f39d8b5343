"""STarT Back scoring against hand-computed cases, the edges of each group, and the whole answer
space against the tool's definition in Keele's own item order."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from telehealth.intake.start_back import (
    COPYRIGHT,
    Bothersomeness,
    RiskGroup,
    StartBackAnswers,
    score,
)

NONE = StartBackAnswers(
    leg_pain=False,
    shoulder_or_neck_pain=False,
    walked_short_distances_only=False,
    dressed_more_slowly=False,
    fear=False,
    anxiety=False,
    catastrophising=False,
    low_mood=False,
    bothersomeness=Bothersomeness.NOT_AT_ALL,
)


@pytest.mark.parametrize(
    ("agreed", "bother", "total", "psychosocial", "group"),
    [
        # Nothing agreed: the lowest score.
        ((), Bothersomeness.NOT_AT_ALL, 0, 0, RiskGroup.LOW),
        # "Moderately" bothersome counts nothing; 3 is still low.
        (("leg_pain", "fear", "anxiety"), Bothersomeness.MODERATELY, 3, 2, RiskGroup.LOW),
        # The four physical items alone reach medium with no psychosocial score.
        (
            (
                "leg_pain",
                "shoulder_or_neck_pain",
                "walked_short_distances_only",
                "dressed_more_slowly",
            ),
            Bothersomeness.SLIGHTLY,
            4,
            0,
            RiskGroup.MEDIUM,
        ),
        # Total 4 with the subscale at 3: the top of medium.
        (
            ("leg_pain", "fear", "anxiety", "catastrophising"),
            Bothersomeness.MODERATELY,
            4,
            3,
            RiskGroup.MEDIUM,
        ),
        # Three psychosocial items and "very much": the subscale reaches 4, high.
        (("fear", "anxiety", "catastrophising"), Bothersomeness.VERY_MUCH, 4, 4, RiskGroup.HIGH),
        # Three agreed and "extremely": total 4 but subscale 4 only with the fourth psychosocial.
        (("leg_pain", "fear", "low_mood"), Bothersomeness.EXTREMELY, 4, 3, RiskGroup.MEDIUM),
        # Everything: 9 and 5.
        (
            (
                "leg_pain",
                "shoulder_or_neck_pain",
                "walked_short_distances_only",
                "dressed_more_slowly",
                "fear",
                "anxiety",
                "catastrophising",
                "low_mood",
            ),
            Bothersomeness.EXTREMELY,
            9,
            5,
            RiskGroup.HIGH,
        ),
    ],
)
def test_hand_computed_cases(
    agreed: tuple[str, ...],
    bother: Bothersomeness,
    total: int,
    psychosocial: int,
    group: RiskGroup,
) -> None:
    answers = replace(NONE, bothersomeness=bother, **dict.fromkeys(agreed, True))
    result = score(answers)
    assert (result.total, result.psychosocial, result.group) == (total, psychosocial, group)
    assert result.suggests


def test_only_very_much_and_extremely_count_for_bothersomeness() -> None:
    counted = {b: score(replace(NONE, bothersomeness=b)).total for b in Bothersomeness}
    assert counted == {
        Bothersomeness.NOT_AT_ALL: 0,
        Bothersomeness.SLIGHTLY: 0,
        Bothersomeness.MODERATELY: 0,
        Bothersomeness.VERY_MUCH: 1,
        Bothersomeness.EXTREMELY: 1,
    }


def test_the_psychosocial_items_are_keyed_by_what_they_ask_not_their_position() -> None:
    # Under another published numbering the psychosocial items are "1, 4, 7, 8, 9"; here items
    # asking about leg pain and dressing never count towards the subscale.
    physical = replace(NONE, leg_pain=True, dressed_more_slowly=True)
    assert score(physical).psychosocial == 0


def _by_keele_order(items: tuple[bool, ...], bother: Bothersomeness) -> tuple[int, int, RiskGroup]:
    """The definition, written separately: Keele's items 1-9, the subscale items 5-9."""
    nine = [*items, bother in (Bothersomeness.VERY_MUCH, Bothersomeness.EXTREMELY)]
    total, sub = sum(nine), sum(nine[4:])
    group = RiskGroup.HIGH if sub >= 4 else RiskGroup.MEDIUM if total >= 4 else RiskGroup.LOW
    return total, sub, group


def test_every_possible_set_of_answers_scores_as_defined() -> None:
    fields = (
        "leg_pain",
        "shoulder_or_neck_pain",
        "walked_short_distances_only",
        "dressed_more_slowly",
        "fear",
        "anxiety",
        "catastrophising",
        "low_mood",
    )
    seen = set()
    for items in itertools.product((False, True), repeat=8):
        for bother in Bothersomeness:
            result = score(
                replace(NONE, bothersomeness=bother, **dict(zip(fields, items, strict=True)))
            )
            assert (result.total, result.psychosocial, result.group) == _by_keele_order(
                items, bother
            )
            seen.add(result.group)
    assert seen == set(RiskGroup)


def test_the_copyright_notice_names_keele() -> None:
    assert "Keele University" in COPYRIGHT
