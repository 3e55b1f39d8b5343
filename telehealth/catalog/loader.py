"""Load the packaged catalogs, validate them, and merge in entries that admins add as data."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from telehealth.catalog.entries import ConditionEntry, ExerciseEntry, IcdCode, TechniqueEntry
from telehealth.catalog.icd10cm import CodeSet, load_code_set
from telehealth.catalog.validation import FieldError, errors_from_validation, invalid
from telehealth.errors import NotFound

CatalogKind = Literal["conditions", "techniques", "exercises"]
KINDS: tuple[CatalogKind, ...] = ("conditions", "techniques", "exercises")

# Whether CMS bills a physical-therapy CPT code in 15-minute units is fixed by the code itself, so
# an added technique may only use a code listed here, with the billing kind listed here.
KNOWN_CPT_TIMED: Mapping[str, bool] = MappingProxyType(
    {
        "97110": True,  # therapeutic exercise
        "97112": True,  # neuromuscular re-education
        "97116": True,  # gait training
        "97140": True,  # manual therapy
        "97530": True,  # therapeutic activities
        "97535": True,  # self-care / home management training
        "97750": True,  # physical performance test
        "97150": False,  # group therapy
        "97161": False,  # evaluation, low complexity
        "97162": False,  # evaluation, moderate complexity
        "97163": False,  # evaluation, high complexity
        "97164": False,  # re-evaluation
    }
)

_Entry = TypeVar("_Entry", ConditionEntry, TechniqueEntry, ExerciseEntry)


class _Document(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: StrictStr = Field(min_length=1, max_length=40)


class _ConditionsDocument(_Document):
    conditions: tuple[ConditionEntry, ...]


class _TechniquesDocument(_Document):
    techniques: tuple[TechniqueEntry, ...]


class _ExercisesDocument(_Document):
    exercises: tuple[ExerciseEntry, ...]


class CatalogExtras(BaseModel):
    """Entries added by admins, stored as data and merged over the packaged catalog."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    conditions: tuple[ConditionEntry, ...] = ()
    techniques: tuple[TechniqueEntry, ...] = ()
    exercises: tuple[ExerciseEntry, ...] = ()


_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Favourite:
    """A catalog code as the diagnosis search sees it: its title and the words it is found by."""

    condition: ConditionEntry
    code: str
    title: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class Catalog:
    """The read-only conditions, techniques and exercises, keyed by their stable ids."""

    versions: Mapping[CatalogKind, str]
    conditions: Mapping[str, ConditionEntry]
    techniques: Mapping[str, TechniqueEntry]
    exercises: Mapping[str, ExerciseEntry]
    # The whole ICD-10-CM code set: diagnoses may be any billable code, the catalog's are favourites.
    codes: CodeSet = field(repr=False, compare=False)
    _by_icd: Mapping[str, tuple[ConditionEntry, IcdCode]] = field(repr=False, compare=False)
    # Per catalog code, its title and the words a search matches it by (built once).
    favourites: tuple[Favourite, ...] = field(default=(), repr=False, compare=False)

    def condition(self, condition_id: str) -> ConditionEntry:
        """Return a condition by id or raise NotFound."""
        return _get(self.conditions, condition_id, "condition")

    def technique(self, technique_id: str) -> TechniqueEntry:
        """Return a technique by id or raise NotFound."""
        return _get(self.techniques, technique_id, "technique")

    def exercise(self, exercise_id: str) -> ExerciseEntry:
        """Return an exercise by id or raise NotFound."""
        return _get(self.exercises, exercise_id, "exercise")

    def find_code(self, icd_code: str) -> tuple[ConditionEntry, IcdCode] | None:
        """Return the condition and code entry for an ICD-10-CM code, if the catalog has it."""
        return self._by_icd.get(icd_code)

    def diagnosis_name(self, icd_code: str) -> str:
        """The name a diagnosis is shown with: the catalog's condition, else the code's title."""
        found = self.find_code(icd_code)
        if found is not None:
            return found[0].name
        return self.codes.description(icd_code) or icd_code

    def code_description(self, icd_code: str) -> str:
        """The code's own title (from the code set; the catalog's entry when the set lacks it)."""
        found = self.find_code(icd_code)
        fallback = found[1].description if found is not None else icd_code
        return self.codes.description(icd_code) or fallback

    def with_extras(
        self, extras: CatalogExtras | Mapping[str, Any], *, check_codes: bool = True
    ) -> Catalog:
        """Return a new catalog with admin entries added; collisions raise InvalidInput.

        New additions must use billable codes of the code set. Additions stored earlier are merged
        with check_codes=False: a later code-set edition must not lock the clinic out of its own
        catalog (signing still refuses a code that left the code set).
        """
        if not isinstance(extras, CatalogExtras):
            extras = parse_extras(extras)
        errors: list[FieldError] = []
        if check_codes:
            errors.extend(code_set_errors(extras.conditions, self.codes))
        for kind in KINDS:
            taken = set(getattr(self, kind))
            for index, entry in enumerate(getattr(extras, kind)):
                if entry.id in taken:
                    errors.append(
                        {
                            "field": f"{kind}[{index}].id",
                            "message": f"{entry.id!r} is already taken",
                        }
                    )
                taken.add(entry.id)
        codes_taken = set(self._by_icd)
        for index, condition in enumerate(extras.conditions):
            for code_index, code in enumerate(condition.codes):
                if code.code in codes_taken:
                    errors.append(
                        {
                            "field": f"conditions[{index}].codes[{code_index}].code",
                            "message": f"{code.code} already belongs to another condition",
                        }
                    )
                codes_taken.add(code.code)
        errors.extend(_cpt_errors(extras.techniques))
        for index, exercise in enumerate(extras.exercises):
            if exercise.illustrated:
                errors.append(
                    {
                        "field": f"exercises[{index}].illustrated",
                        "message": "only the packaged catalog ships drawings",
                    }
                )
        if errors:
            raise invalid(errors, "catalog additions")
        return build_catalog(
            self.versions,
            [*self.conditions.values(), *extras.conditions],
            [*self.techniques.values(), *extras.techniques],
            [*self.exercises.values(), *extras.exercises],
            self.codes,
            check_codes=False,
        )


def _get(entries: Mapping[str, _Entry], key: str, what: str) -> _Entry:
    try:
        return entries[key]
    except KeyError:
        raise NotFound(f"No {what} {key!r} in the catalog") from None


def _index(entries: Iterable[_Entry], kind: str, errors: list[FieldError]) -> dict[str, _Entry]:
    indexed: dict[str, _Entry] = {}
    for position, entry in enumerate(entries):
        if entry.id in indexed:
            errors.append(
                {"field": f"{kind}[{position}].id", "message": f"duplicate id {entry.id!r}"}
            )
        indexed[entry.id] = entry
    return indexed


def _cpt_errors(techniques: Iterable[TechniqueEntry]) -> list[FieldError]:
    errors: list[FieldError] = []
    for position, technique in enumerate(techniques):
        timed = KNOWN_CPT_TIMED.get(technique.cpt)
        if timed is None:
            errors.append(
                {
                    "field": f"techniques[{position}].cpt",
                    "message": f"unknown physical-therapy CPT code {technique.cpt}",
                }
            )
        elif timed != technique.timed:
            kind = "timed (15-minute units)" if timed else "untimed"
            errors.append(
                {"field": f"techniques[{position}].timed", "message": f"{technique.cpt} is {kind}"}
            )
    return errors


def code_set_errors(conditions: Iterable[ConditionEntry], codes: CodeSet) -> list[FieldError]:
    """Every condition code must be a billable code of the code set, with the side it stands for."""
    errors: list[FieldError] = []
    for position, condition in enumerate(conditions):
        for code_index, entry in enumerate(condition.codes):
            where = f"conditions[{position}].codes[{code_index}]"
            if not codes.is_valid(entry.code):
                message = f"{entry.code} is not in the ICD-10-CM code set ({codes.edition})"
                errors.append({"field": f"{where}.code", "message": message})
            elif not codes.is_billable(entry.code):
                below = ", ".join(codes.children(entry.code)[:6])
                message = f"{entry.code} is not billable: it needs more characters ({below} ...)"
                errors.append({"field": f"{where}.code", "message": message})
            elif entry.laterality != codes.side(entry.code):
                side = codes.side(entry.code) or "no side"
                message = f"{entry.code} is coded for {side}, not {entry.laterality or 'no side'}"
                errors.append({"field": f"{where}.laterality", "message": message})
    return errors


def build_catalog(
    versions: Mapping[CatalogKind, str],
    conditions: Iterable[ConditionEntry],
    techniques: Iterable[TechniqueEntry],
    exercises: Iterable[ExerciseEntry],
    codes: CodeSet,
    *,
    check_codes: bool = True,
) -> Catalog:
    """Assemble a catalog from validated entries, enforcing unique ids, codes and known CPTs."""
    errors: list[FieldError] = []
    conditions = tuple(conditions)
    if check_codes:
        errors.extend(code_set_errors(conditions, codes))
    by_condition = _index(conditions, "conditions", errors)
    by_technique = _index(techniques, "techniques", errors)
    by_exercise = _index(exercises, "exercises", errors)

    by_icd: dict[str, tuple[ConditionEntry, IcdCode]] = {}
    for position, condition in enumerate(by_condition.values()):
        for code_index, code in enumerate(condition.codes):
            if code.code in by_icd:
                errors.append(
                    {
                        "field": f"conditions[{position}].codes[{code_index}].code",
                        "message": f"{code.code} already belongs to {by_icd[code.code][0].id!r}",
                    }
                )
            else:
                by_icd[code.code] = (condition, code)

    errors.extend(_cpt_errors(by_technique.values()))
    if errors:
        raise invalid(errors, "catalog")
    return Catalog(
        versions=MappingProxyType(dict(versions)),
        conditions=MappingProxyType(by_condition),
        techniques=MappingProxyType(by_technique),
        exercises=MappingProxyType(by_exercise),
        codes=codes,
        _by_icd=MappingProxyType(by_icd),
        favourites=tuple(_favourites(by_icd.values(), codes)),
    )


def _favourites(
    entries: Iterable[tuple[ConditionEntry, IcdCode]], codes: CodeSet
) -> Iterable[Favourite]:
    for condition, entry in entries:
        title = codes.description(entry.code) or entry.description
        # The clinic's own name of the condition finds its codes too ("SI joint dysfunction").
        text = f"{condition.name} {condition.plain_name} {title}".lower()
        yield Favourite(condition, entry.code, title, tuple(dict.fromkeys(_WORD.findall(text))))


def parse_extras(data: Mapping[str, Any]) -> CatalogExtras:
    """Validate admin-supplied entries (as stored data) into CatalogExtras."""
    try:
        return CatalogExtras.model_validate(data)
    except ValidationError as exc:
        raise invalid(errors_from_validation(exc), "catalog additions") from None


def parse_catalog(
    conditions: str | bytes, techniques: str | bytes, exercises: str | bytes, codes: CodeSet
) -> Catalog:
    """Validate the three JSON catalog documents against the code set and build the catalog."""
    condition_doc = _parse_document(_ConditionsDocument, "conditions", conditions)
    technique_doc = _parse_document(_TechniquesDocument, "techniques", techniques)
    exercise_doc = _parse_document(_ExercisesDocument, "exercises", exercises)
    return build_catalog(
        {
            "conditions": condition_doc.version,
            "techniques": technique_doc.version,
            "exercises": exercise_doc.version,
        },
        condition_doc.conditions,
        technique_doc.techniques,
        exercise_doc.exercises,
        codes,
    )


_Document_T = TypeVar("_Document_T", bound=_Document)


def _parse_document(model: type[_Document_T], kind: CatalogKind, raw: str | bytes) -> _Document_T:
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise invalid(errors_from_validation(exc), f"{kind} catalog document") from None


def packaged_documents() -> dict[CatalogKind, bytes]:
    """Read the packaged catalog JSON files (blocking file I/O: call once at start-up)."""
    data = resources.files("telehealth.catalog").joinpath("data")
    return {kind: data.joinpath(f"{kind}.json").read_bytes() for kind in KINDS}


def load_catalog(
    extras: CatalogExtras | Mapping[str, Any] | None = None, codes: CodeSet | None = None
) -> Catalog:
    """Load and validate the packaged catalog, then merge admin extras if given.

    Blocking (file reads; the code set's first load takes seconds): call it in a worker thread.
    """
    documents = packaged_documents()
    catalog = parse_catalog(
        documents["conditions"],
        documents["techniques"],
        documents["exercises"],
        codes or load_code_set(),
    )
    return catalog if extras is None else catalog.with_extras(extras)
