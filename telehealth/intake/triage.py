"""Red-flag triage of a screening intake, as a rule table: data, versioned, no free-form logic.

The table (`data/triage-v1.json`) names the questions the intake must ask, each rule's answers
(all must hold), its tier and the concern it raises, and what the patient is told per tier. The
outcome is the most serious tier any rule reaches: **emergency** (go to an emergency department
now; no booking), **urgent** (see a physician within one or two days; the clinic calls; booking
held) or **routine** (book the free screening). Every rule that matched is kept, so the therapist
sees which answers raised what.

Triage refuses an intake with a red-flag question unanswered: a missing answer must never read
as "no". Rules marked `clinical_review` come from the clinic's pathway rather than the published
guideline and await the review the pathway asks for; they are applied meanwhile, since a false
alarm costs a phone call and a missed one may cost far more.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from functools import cache
from importlib import resources
from typing import Any

TABLE_FILE = "triage-v1.json"

Answer = bool | int


class Tier(IntEnum):
    """Ordered by seriousness, so the worst of several is their maximum."""

    ROUTINE = 0
    URGENT = 1
    EMERGENCY = 2

    @property
    def key(self) -> str:
        """The tier's name in the table and in stored answers."""
        return self.name.lower()


class TableError(ValueError):
    """The rule table is not well formed (caught by the tests, never at a patient's answer)."""


class IncompleteAnswers(ValueError):
    """An intake reached triage with questions unanswered or answered wrongly."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {why}" for key, why in problems.items()))
        self.problems = dict(problems)


@dataclass(frozen=True)
class Question:
    """One question the intake asks: a yes/no, or a whole number within bounds."""

    key: str
    kind: str  # "boolean" | "integer"
    asks: str
    low: int = 0
    high: int = 0

    def problem(self, value: object) -> str | None:
        """Why `value` cannot answer this question, or None."""
        if self.kind == "boolean":
            return None if isinstance(value, bool) else "answer yes or no"
        if isinstance(value, bool) or not isinstance(value, int):
            return "answer with a whole number"
        if not self.low <= value <= self.high:
            return f"must be from {self.low} to {self.high}"
        return None


@dataclass(frozen=True)
class Condition:
    """One answer a rule needs: equal to a yes/no, or above/below a number (strictly)."""

    key: str
    equals: bool | None = None
    above: int | None = None
    below: int | None = None

    def holds(self, value: Answer) -> bool:
        """Whether the answer meets the condition."""
        if self.equals is not None:
            return value is self.equals
        if isinstance(value, bool):
            return False
        if self.above is not None and not value > self.above:
            return False
        return not (self.below is not None and not value < self.below)


@dataclass(frozen=True)
class Rule:
    """A row of the table: all its conditions raise its concern at its tier."""

    id: str
    tier: Tier
    conditions: tuple[Condition, ...]
    concern: str
    source: str
    clinical_review: bool = False

    def matches(self, answers: Mapping[str, Answer]) -> bool:
        """Whether every condition holds for these answers."""
        return all(c.holds(answers[c.key]) for c in self.conditions)


@dataclass(frozen=True)
class Table:
    """The whole rule table of one version."""

    version: str
    questions: Mapping[str, Question]
    rules: tuple[Rule, ...]
    patient_words: Mapping[Tier, str]
    sources: Mapping[str, str]


@dataclass(frozen=True)
class Triage:
    """The outcome: the tier, what the patient is told, and every rule that matched."""

    tier: Tier
    patient_words: str
    matched: tuple[Rule, ...]
    table_version: str

    @property
    def booking_allowed(self) -> bool:
        """Only a routine outcome may go on to book."""
        return self.tier is Tier.ROUTINE


def triage(answers: Mapping[str, Answer], table: Table | None = None) -> Triage:
    """Triage one complete intake; raises IncompleteAnswers rather than guess."""
    table = table or load_table()
    problems: dict[str, str] = {}
    for key, question in table.questions.items():
        if key not in answers:
            problems[key] = "not answered"
            continue
        why = question.problem(answers[key])
        if why is not None:
            problems[key] = why
    for key in answers.keys() - table.questions.keys():
        problems[key] = "not a question of this intake"
    if problems:
        raise IncompleteAnswers(problems)
    matched = tuple(rule for rule in table.rules if rule.matches(answers))
    tier = max((rule.tier for rule in matched), default=Tier.ROUTINE)
    return Triage(
        tier=tier,
        patient_words=table.patient_words[tier],
        matched=matched,
        table_version=table.version,
    )


@cache
def load_table(name: str = TABLE_FILE) -> Table:
    """The packaged rule table, checked whole."""
    raw = json.loads(
        resources.files("telehealth.intake").joinpath("data", name).read_text(encoding="utf-8")
    )
    return parse_table(raw)


def parse_table(raw: Mapping[str, Any]) -> Table:
    """Build and check a table: known tiers and sources, conditions on asked questions of the
    right kind, unique rule ids, words for every tier."""
    questions = {key: _question(key, spec) for key, spec in raw["questions"].items()}
    sources = dict(raw["sources"])
    rules = tuple(_rule(spec, questions, sources) for spec in raw["rules"])
    ids = [rule.id for rule in rules]
    if len(set(ids)) != len(ids):
        raise TableError("rule ids repeat")
    words = {_tier(key): text for key, text in raw["patient_words"].items()}
    if set(words) != set(Tier):
        raise TableError("patient words are needed for every tier")
    return Table(
        version=str(raw["version"]),
        questions=questions,
        rules=rules,
        patient_words=words,
        sources=sources,
    )


def _tier(key: str) -> Tier:
    try:
        return Tier[key.upper()]
    except KeyError:
        raise TableError(f"unknown tier {key!r}") from None


def _question(key: str, spec: Mapping[str, Any]) -> Question:
    kind = spec["type"]
    if kind == "boolean":
        return Question(key, kind, spec["asks"])
    if kind == "integer":
        return Question(key, kind, spec["asks"], int(spec["min"]), int(spec["max"]))
    raise TableError(f"question {key}: unknown type {kind!r}")


def _rule(
    spec: Mapping[str, Any], questions: Mapping[str, Question], sources: Mapping[str, str]
) -> Rule:
    rule_id = spec["id"]
    if not spec["when"]:
        raise TableError(f"rule {rule_id}: no conditions")
    conditions = []
    for key, wanted in spec["when"].items():
        question = questions.get(key)
        if question is None:
            raise TableError(f"rule {rule_id}: {key} is not a question")
        if question.kind == "boolean":
            if not isinstance(wanted, bool):
                raise TableError(f"rule {rule_id}: {key} needs true or false")
            conditions.append(Condition(key, equals=wanted))
        else:
            if not isinstance(wanted, dict) or not set(wanted) <= {"above", "below"} or not wanted:
                raise TableError(f"rule {rule_id}: {key} needs above and/or below")
            conditions.append(Condition(key, above=wanted.get("above"), below=wanted.get("below")))
    if spec["source"] not in sources:
        raise TableError(f"rule {rule_id}: unknown source {spec['source']!r}")
    return Rule(
        id=rule_id,
        tier=_tier(spec["tier"]),
        conditions=tuple(conditions),
        concern=spec["concern"],
        source=spec["source"],
        clinical_review=bool(spec.get("clinical_review", False)),
    )
