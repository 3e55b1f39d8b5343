"""Outcome measures as a versioned rule table, and the pure functions that score answers to them.

The table (`data/instruments-v1.json`) names each instrument's items by what they ask about, the
answer range, how the score is made (`kind`), how many items may be missing and what the
instrument's sources, LOINC codes, better direction and minimal clinically important change
(MCID) are. A scored answer keeps the table's version and the instrument's version, so a later
table never silently rescores history.

Kinds:

* `sum`: the item answers added up (NPRS: one item; LEFS: 20 items, 0-80). Up to `max_missing`
  items may be unanswered; the total is then prorated to the full scale
  (sum x items / answered), one decimal, half up. More missing: not scorable.
* `percent`: the answered items' sum as a percent of their maximum (ODI v2.1a: 5 per section),
  one decimal, half up; at most `max_missing` sections unanswered.
* `conversion`: the raw sum looked up in a conversion table (HOOS JR, raw 0-24 to 0-100); every
  item must be answered. The table comes with the clinic's instrument pack (packs.py).
* `mean_of_activities`: 3-5 activities the patient names, each rated in range; the mean, one
  decimal (PSFS). Whether a higher rating is better is the instrument version's `better`.
* `start_back`: scored by `telehealth.intake.start_back` (one implementation of the tool).

Licensed instruments (`text: "pack"`) carry no item wording here; see packs.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import cache
from importlib import resources
from typing import Any

from telehealth.intake import start_back

TABLE_FILE = "instruments-v1.json"
KINDS = frozenset({"sum", "percent", "conversion", "mean_of_activities", "start_back"})
ACTIVITY_NAME_LIMIT = 80


class TableError(ValueError):
    """The instrument table (or an instrument pack) is not well formed: start-up refuses it."""


class InvalidAnswers(ValueError):
    """Answers that cannot be scored: each problem keyed by the item (or `answers`)."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {why}" for key, why in problems.items()))
        self.problems = dict(problems)


@dataclass(frozen=True)
class Item:
    """One question, keyed by what it asks about; `asks` is None until a pack supplies it."""

    key: str
    low: int
    high: int
    asks: str | None = None
    choices: tuple[str, ...] = ()
    loinc: str | None = None


@dataclass(frozen=True)
class Instrument:
    """One instrument of the table, with its items and scoring rule."""

    key: str
    title: str
    version: str
    kind: str
    text: str  # "shipped" | "pack"
    licence: str
    source: str
    better: str  # "higher" | "lower"
    low: int
    high: int
    items: tuple[Item, ...]
    max_missing: int = 0
    mcid: float | None = None
    loinc_panel: str | None = None
    loinc_score: str | None = None
    offered: bool = True
    intro: str = ""
    choices: tuple[str, ...] = ()
    anchors: Mapping[int, str] = field(default_factory=dict)
    min_activities: int = 0
    max_activities: int = 0
    # From an instrument pack: the raw-to-interval table (HOOS JR) and the licence attestation.
    conversion: tuple[float, ...] = ()
    attestation: str = ""

    @property
    def available(self) -> bool:
        """Whether answers can be taken: free text shipped, or a pack installed."""
        return self.text == "shipped" or bool(self.attestation)

    @property
    def higher_is_better(self) -> bool:
        """The score's direction (PSFS 2.0 reverses the original's)."""
        return self.better == "higher"

    @property
    def score_max(self) -> float:
        """The top of the score's scale."""
        if self.kind == "sum":
            return float(self.high * len(self.items))
        if self.kind in ("percent", "conversion"):
            return 100.0
        if self.kind == "start_back":
            return 9.0
        return float(self.high)


@dataclass(frozen=True)
class Score:
    """A scored answer: the value and how it was reached (raw sum, answered, prorated...)."""

    value: float
    detail: Mapping[str, Any]


@dataclass(frozen=True)
class Table:
    """The whole instrument table of one version."""

    version: str
    instruments: Mapping[str, Instrument]
    sources: Mapping[str, str]


def half_up(value: Fraction, places: int = 1) -> float:
    """Round as a person does (2.25 -> 2.3), not as floats do."""
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return float(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def score(instrument: Instrument, answers: Mapping[str, Any]) -> Score:
    """Score one response; raises InvalidAnswers rather than guess."""
    if not instrument.available:
        raise InvalidAnswers({"instrument": f"{instrument.title} is not installed at this clinic"})
    if instrument.kind == "mean_of_activities":
        return _mean_of_activities(instrument, answers)
    given = _item_answers(instrument, answers)
    answered = [value for value in given.values() if value is not None]
    raw = sum(answered)
    missing = [key for key, value in given.items() if value is None]
    if len(missing) > instrument.max_missing:
        allowed = (
            "every question must be answered"
            if instrument.max_missing == 0
            else f"at most {instrument.max_missing} may be left out"
        )
        raise InvalidAnswers({key: f"not answered ({allowed})" for key in missing})
    detail: dict[str, Any] = {"raw": raw, "answered": len(answered), "missing": missing}
    if instrument.kind == "sum":
        value = Fraction(raw * len(given), len(answered))
        detail["prorated"] = bool(missing)
        return Score(half_up(value), detail)
    if instrument.kind == "percent":
        return Score(half_up(Fraction(raw * 100, instrument.high * len(answered))), detail)
    if instrument.kind == "conversion":
        return Score(instrument.conversion[raw], detail)
    return _start_back(given, detail)


def _item_answers(instrument: Instrument, answers: Mapping[str, Any]) -> dict[str, int | None]:
    problems: dict[str, str] = {}
    given: dict[str, int | None] = {}
    for item in instrument.items:
        value = answers.get(item.key)
        if value is None:
            given[item.key] = None
        elif isinstance(value, bool) or not isinstance(value, int):
            problems[item.key] = "answer with a whole number"
        elif not item.low <= value <= item.high:
            problems[item.key] = f"must be from {item.low} to {item.high}"
        else:
            given[item.key] = value
    known = {item.key for item in instrument.items}
    for key in answers.keys() - known:
        problems[str(key)] = "not a question of this measure"
    if problems:
        raise InvalidAnswers(problems)
    return given


def _mean_of_activities(instrument: Instrument, answers: Mapping[str, Any]) -> Score:
    activities = answers.get("activities")
    extra = answers.keys() - {"activities"}
    if extra:
        raise InvalidAnswers({str(key): "not a question of this measure" for key in extra})
    if not isinstance(activities, Sequence) or isinstance(activities, str):
        raise InvalidAnswers({"activities": "a list of activities is needed"})
    problems: dict[str, str] = {}
    count = len(activities)
    if not instrument.min_activities <= count <= instrument.max_activities:
        problems["activities"] = (
            f"name from {instrument.min_activities} to {instrument.max_activities} activities"
        )
    ratings: list[int] = []
    names: list[str] = []
    for number, entry in enumerate(activities, start=1):
        if not isinstance(entry, Mapping) or set(entry) != {"activity", "rating"}:
            problems[f"activity_{number}"] = "needs an activity and its rating"
            continue
        name, rating = entry["activity"], entry["rating"]
        if not isinstance(name, str) or not name.strip():
            problems[f"activity_{number}"] = "name the activity"
        elif len(name) > ACTIVITY_NAME_LIMIT:
            problems[f"activity_{number}"] = f"at most {ACTIVITY_NAME_LIMIT} characters"
        elif name.strip().casefold() in (n.casefold() for n in names):
            problems[f"activity_{number}"] = "this activity is already named"
        else:
            names.append(name.strip())
        if isinstance(rating, bool) or not isinstance(rating, int):
            problems[f"rating_{number}"] = "answer with a whole number"
        elif not instrument.low <= rating <= instrument.high:
            problems[f"rating_{number}"] = f"must be from {instrument.low} to {instrument.high}"
        else:
            ratings.append(rating)
    if problems:
        raise InvalidAnswers(problems)
    value = half_up(Fraction(sum(ratings), len(ratings)))
    return Score(value, {"raw": sum(ratings), "answered": len(ratings), "missing": []})


def _start_back(given: Mapping[str, int | None], detail: dict[str, Any]) -> Score:
    # Items 1-8 answered 1 for "agree"; bothersomeness 0-4 in the tool's order of choices.
    choice = list(start_back.Bothersomeness)[given["bothersomeness"] or 0]
    agreed = {key: bool(value) for key, value in given.items() if key != "bothersomeness"}
    result = start_back.score(start_back.StartBackAnswers(**agreed, bothersomeness=choice))
    detail.update(psychosocial=result.psychosocial, group=result.group.value)
    return Score(float(result.total), detail)


@cache
def load_table(name: str = TABLE_FILE) -> Table:
    """The packaged instrument table, checked whole."""
    raw = json.loads(
        resources.files("telehealth.measures").joinpath("data", name).read_text(encoding="utf-8")
    )
    return parse_table(raw)


def parse_table(raw: Mapping[str, Any]) -> Table:
    """Build and check a table: known kinds and sources, sane ranges, unique item keys."""
    sources = dict(raw["sources"])
    instruments = {key: _instrument(key, spec, sources) for key, spec in raw["instruments"].items()}
    return Table(version=str(raw["version"]), instruments=instruments, sources=sources)


def _instrument(key: str, spec: Mapping[str, Any], sources: Mapping[str, str]) -> Instrument:
    kind = spec["kind"]
    if kind not in KINDS:
        raise TableError(f"{key}: unknown kind {kind!r}")
    if spec["source"] not in sources:
        raise TableError(f"{key}: unknown source {spec['source']!r}")
    if spec["text"] not in ("shipped", "pack"):
        raise TableError(f"{key}: text must be shipped or pack")
    if spec["better"] not in ("higher", "lower"):
        raise TableError(f"{key}: better must be higher or lower")
    low, high = int(spec["answer_min"]), int(spec["answer_max"])
    if not 0 <= low < high:
        raise TableError(f"{key}: answers must run upwards from 0 or more")
    items = tuple(
        Item(
            key=item["key"],
            low=low,
            high=int(item.get("answer_max", high)),
            asks=item.get("asks"),
            loinc=item.get("loinc"),
        )
        for item in spec["items"]
    )
    keys = [item.key for item in items]
    if len(set(keys)) != len(keys):
        raise TableError(f"{key}: item keys repeat")
    if spec["text"] == "pack" and any(item.asks for item in items):
        raise TableError(f"{key}: a licensed instrument's wording comes from a pack, not here")
    if spec["text"] == "shipped" and any(not item.asks for item in items):
        raise TableError(f"{key}: every shipped item needs its wording")
    if kind == "mean_of_activities":
        if items or not 1 <= spec["min_activities"] <= spec["max_activities"]:
            raise TableError(f"{key}: activities are the patient's; give their bounds")
    elif not items:
        raise TableError(f"{key}: no items")
    max_missing = int(spec.get("max_missing", 0))
    if not 0 <= max_missing < max(len(items), 1):
        raise TableError(f"{key}: max_missing out of range")
    if kind == "start_back" and set(keys) != set(start_back.StartBackAnswers.__dataclass_fields__):
        raise TableError(f"{key}: items must be the STarT Back constructs")
    choices = tuple(spec.get("choices", ()))
    if choices and len(choices) != high - low + 1:
        raise TableError(f"{key}: one choice per answer is needed")
    loinc = spec.get("loinc", {})
    return Instrument(
        key=key,
        title=spec["title"],
        version=str(spec["version"]),
        kind=kind,
        text=spec["text"],
        licence=spec["licence"],
        source=spec["source"],
        better=spec["better"],
        low=low,
        high=high,
        items=items,
        max_missing=max_missing,
        mcid=spec.get("mcid"),
        loinc_panel=loinc.get("panel"),
        loinc_score=loinc.get("score"),
        offered=bool(spec.get("offered", True)),
        intro=spec.get("intro", ""),
        choices=choices,
        anchors={int(k): v for k, v in spec.get("anchors", {}).items()},
        min_activities=int(spec.get("min_activities", 0)),
        max_activities=int(spec.get("max_activities", 0)),
    )
