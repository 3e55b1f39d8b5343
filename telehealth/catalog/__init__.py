"""The clinic's catalogs: conditions (ICD-10-CM), techniques (CPT) and the home exercise library."""

from telehealth.catalog.entries import (
    ConditionEntry,
    Dosage,
    ExerciseEntry,
    IcdCode,
    ParameterSpec,
    TechniqueEntry,
)
from telehealth.catalog.loader import (
    Catalog,
    CatalogExtras,
    build_catalog,
    load_catalog,
    parse_catalog,
    parse_extras,
)

__all__ = [
    "Catalog",
    "CatalogExtras",
    "ConditionEntry",
    "Dosage",
    "ExerciseEntry",
    "IcdCode",
    "ParameterSpec",
    "TechniqueEntry",
    "build_catalog",
    "load_catalog",
    "parse_catalog",
    "parse_extras",
]
