"""Typed, immutable catalog entries: conditions (ICD-10-CM), techniques (CPT), home exercises."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, model_validator

# ICD-10-CM: a letter (U is reserved by WHO, not used here), two characters, then up to four after
# the dot, with X as the placeholder. A pattern cannot prove a code exists: the catalog is checked
# against the shipped code set when it is built (telehealth.catalog.icd10cm).
ICD10CM_PATTERN = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?$")
# CPT Category I is five digits; II, III and PLA codes end in F, T or U.
CPT_PATTERN = re.compile(r"^[0-9]{4}[0-9FTU]$")
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
PARAMETER_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"

BodyRegion = Literal["hip", "lower_back", "pelvis", "abdomen", "neck", "shoulder", "knee"]
Laterality = Literal["left", "right", "bilateral", "unspecified"]
ExerciseKind = Literal["stretch", "strengthen", "mobility"]
ParameterType = Literal["string", "integer", "enum", "string_list", "exercise_list"]

Slug = Annotated[StrictStr, Field(pattern=SLUG_PATTERN, max_length=80)]
Name = Annotated[StrictStr, Field(min_length=1, max_length=200)]
Sentence = Annotated[StrictStr, Field(min_length=1, max_length=600)]
Icd10Code = Annotated[StrictStr, Field(pattern=ICD10CM_PATTERN.pattern)]
CptCode = Annotated[StrictStr, Field(pattern=CPT_PATTERN.pattern)]


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IcdCode(_Entry):
    """One billable ICD-10-CM code of a condition, with the side or encounter it stands for."""

    code: Icd10Code
    description: Name
    laterality: Laterality | None = None


class ConditionEntry(_Entry):
    """A condition the clinic treats, named for clinicians and explained for patients."""

    id: Slug
    name: Name
    plain_name: Name
    plain_explanation: Sentence
    region: BodyRegion
    codes: tuple[IcdCode, ...] = Field(min_length=1)
    from_article: StrictBool = False

    @model_validator(mode="after")
    def _codes_unique(self) -> ConditionEntry:
        seen = [c.code for c in self.codes]
        if len(seen) != len(set(seen)):
            raise ValueError(f"condition {self.id} lists a code twice")
        return self

    def code(self, code: str) -> IcdCode | None:
        """Return this condition's entry for an ICD-10-CM code, if it has one."""
        return next((c for c in self.codes if c.code == code), None)


class ParameterSpec(_Entry):
    """One parameter a technique line carries: its type, allowed values and bounds."""

    name: Annotated[StrictStr, Field(pattern=PARAMETER_NAME_PATTERN, max_length=40)]
    label: Name
    type: ParameterType
    required: StrictBool = False
    allowed: tuple[StrictStr, ...] | None = None
    # Whole numbers a clinician may type for an enum value (3 -> "III").
    aliases: dict[StrictStr, StrictStr] | None = None
    # Values that are known but never acceptable here, each with the reason shown to the user.
    refused: dict[StrictStr, Sentence] | None = None
    minimum: StrictInt | None = None
    maximum: StrictInt | None = None
    max_length: Annotated[StrictInt, Field(ge=1, le=2000)] = 200
    min_items: Annotated[StrictInt, Field(ge=0)] = 0
    max_items: Annotated[StrictInt, Field(ge=1, le=50)] = 20

    @model_validator(mode="after")
    def _consistent(self) -> ParameterSpec:
        takes_allowed = self.type in ("enum", "string_list")
        if self.type == "enum" and not self.allowed:
            raise ValueError(f"enum parameter {self.name} needs allowed values")
        if self.allowed is not None and not takes_allowed:
            raise ValueError(
                f"parameter {self.name} of type {self.type} cannot list allowed values"
            )
        if (self.aliases or self.refused) and self.type != "enum":
            raise ValueError(f"only enum parameters take aliases or refused values ({self.name})")
        known = set(self.allowed or ()) | set(self.refused or {})
        for alias, target in (self.aliases or {}).items():
            if target not in known:
                raise ValueError(f"alias {alias!r} of {self.name} points at unknown {target!r}")
        if set(self.refused or {}) & set(self.allowed or ()):
            raise ValueError(f"parameter {self.name} both allows and refuses a value")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"parameter {self.name} has minimum above maximum")
        if self.min_items > self.max_items:
            raise ValueError(f"parameter {self.name} has min_items above max_items")
        return self


class TechniqueEntry(_Entry):
    """A treatment technique the therapist can record, with its CPT code and billing kind."""

    id: Slug
    name: Name
    plain_name: Name
    plain_explanation: Sentence
    cpt: CptCode
    timed: StrictBool
    family: Slug | None = None
    parameters: tuple[ParameterSpec, ...] = ()
    from_article: StrictBool = False

    @model_validator(mode="after")
    def _parameter_names_unique(self) -> TechniqueEntry:
        names = [p.name for p in self.parameters]
        if len(names) != len(set(names)):
            raise ValueError(f"technique {self.id} declares a parameter twice")
        return self

    def parameter(self, name: str) -> ParameterSpec | None:
        """Return the declared parameter of that name, if any."""
        return next((p for p in self.parameters if p.name == name), None)


class Dosage(_Entry):
    """How much of an exercise: sets x repetitions, each held, so many times a day and week."""

    sets: Annotated[StrictInt, Field(ge=1, le=10)]
    repetitions: Annotated[StrictInt, Field(ge=1, le=50)]
    hold_seconds: Annotated[StrictInt, Field(ge=0, le=120)] = 0
    per_day: Annotated[StrictInt, Field(ge=1, le=6)] = 1
    per_week: Annotated[StrictInt, Field(ge=1, le=7)] = 7


class ExerciseEntry(_Entry):
    """A home exercise with steps a patient in pain can follow, its cautions and default dosage."""

    id: Slug
    name: Name
    region: BodyRegion
    kind: ExerciseKind
    steps: tuple[Sentence, ...] = Field(min_length=2, max_length=12)
    cautions: tuple[Sentence, ...] = Field(min_length=1, max_length=8)
    easier: Sentence | None = None
    dosage: Dosage
    # The patient's one-line gist beside the picture, what to keep in mind while doing it, and
    # what people commonly get wrong. Optional for entries admins add; the packaged catalog has
    # them all (a unit test checks).
    instructions: Sentence | None = None
    cues: tuple[Sentence, ...] = Field(default=(), max_length=3)
    mistakes: tuple[Sentence, ...] = Field(default=(), max_length=2)
    # A drawing ships as web/static/exercises/<id>.svg. Only the packaged catalog ships drawings,
    # so an admin's addition cannot claim one (Catalog.with_extras refuses it).
    illustrated: StrictBool = False

    @property
    def illustration(self) -> str | None:
        """The drawing's URL path, if the exercise has one."""
        return f"/static/exercises/{self.id}.svg" if self.illustrated else None
