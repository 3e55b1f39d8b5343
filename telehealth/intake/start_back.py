"""The Keele STarT Back Screening Tool: nine answers to a risk group for low back pain.

Scoring (Keele; Hill et al. 2008): items 1-8 count 1 for "agree", item 9 (bothersomeness) counts 1
for "very much" or "extremely". The total is 0-9; the psychosocial subscale is the fear, anxiety,
catastrophising, low mood and bothersomeness items (0-5). Low risk: total 0-3. Medium risk:
total 4 or more with the subscale 3 or less. High risk: subscale 4 or more.

Answers are keyed by what each item asks about, never by its position: published numberings
differ (the JOSPT 2012 guideline lists the psychosocial items as "1, 4, 7, 8, 9" under another
order), and a positional key would silently score the wrong items.

The items' wording is Keele University's and is not shipped here: the tool may not be modified,
and its use in commercial products needs Keele's agreement. A clinic installs the official
wording with its own licence; this module scores answers to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

COPYRIGHT = (
    "STarT Back Screening Tool. Copyright (c) 2021 Keele University. No licence is required for"
    " non-commercial use; commercial use needs the agreement of Keele University."
)


class Bothersomeness(StrEnum):
    """The answers to "Overall, how bothersome has your back pain been in the last 2 weeks?"."""

    NOT_AT_ALL = "not_at_all"
    SLIGHTLY = "slightly"
    MODERATELY = "moderately"
    VERY_MUCH = "very_much"
    EXTREMELY = "extremely"


class RiskGroup(StrEnum):
    """The tool's three groups."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


# What each group suggests to the therapist (Hill et al. 2011, the STarT Back trial).
SUGGESTS = {
    RiskGroup.LOW: (
        "Low risk of a poor outcome: advice, reassurance and self-management; a short course of"
        " care is usually enough."
    ),
    RiskGroup.MEDIUM: (
        "Medium risk: physical symptoms dominate; standard physical therapy (exercise, manual"
        " therapy) aimed at pain and function."
    ),
    RiskGroup.HIGH: (
        "High risk: psychosocial factors are prominent; physical therapy that also addresses fear,"
        " worry and low mood (psychologically informed care), and consider referral."
    ),
}


@dataclass(frozen=True)
class StartBackAnswers:
    """One person's answers, each item named by what it asks about (True: "agree")."""

    leg_pain: bool  # back pain has spread down the leg(s)
    shoulder_or_neck_pain: bool
    walked_short_distances_only: bool
    dressed_more_slowly: bool
    fear: bool  # not really safe for someone with my condition to be physically active
    anxiety: bool  # worrying thoughts have gone through my mind a lot of the time
    catastrophising: bool  # back pain is terrible and never going to get better
    low_mood: bool  # have not enjoyed the things I used to enjoy
    bothersomeness: Bothersomeness


@dataclass(frozen=True)
class StartBackScore:
    """The total (0-9), the psychosocial subscale (0-5) and the risk group."""

    total: int
    psychosocial: int
    group: RiskGroup

    @property
    def suggests(self) -> str:
        """What the group suggests, in the therapist's words."""
        return SUGGESTS[self.group]


def score(answers: StartBackAnswers) -> StartBackScore:
    """Score one completed tool."""
    bothered = answers.bothersomeness in (Bothersomeness.VERY_MUCH, Bothersomeness.EXTREMELY)
    psychosocial = sum(
        (answers.fear, answers.anxiety, answers.catastrophising, answers.low_mood, bothered)
    )
    physical = sum(
        (
            answers.leg_pain,
            answers.shoulder_or_neck_pain,
            answers.walked_short_distances_only,
            answers.dressed_more_slowly,
        )
    )
    total = physical + psychosocial
    if psychosocial >= 4:
        group = RiskGroup.HIGH
    elif total >= 4:
        group = RiskGroup.MEDIUM
    else:
        group = RiskGroup.LOW
    return StartBackScore(total=total, psychosocial=psychosocial, group=group)
