"""Every catalog code checked against the shipped ICD-10-CM code set, and the catalog corrections."""

from __future__ import annotations

import pytest

from telehealth.catalog import Catalog
from telehealth.catalog.icd10cm import PACKAGE_VERSION, CodeSet, installed_version
from telehealth.catalog.loader import packaged_documents


def all_codes(catalog: Catalog) -> list[tuple[str, str, str | None, str]]:
    return [
        (condition.id, code.code, code.laterality, code.description)
        for condition in catalog.conditions.values()
        for code in condition.codes
    ]


def test_the_installed_package_is_the_release_whose_edition_is_recorded() -> None:
    # A new release may ship another fiscal year: record its edition and re-check the catalog.
    assert installed_version() == PACKAGE_VERSION


def test_every_catalog_code_is_a_billable_code_of_the_shipped_code_set(
    catalog: Catalog, code_set: CodeSet
) -> None:
    codes = all_codes(catalog)
    assert len(codes) > 100
    for condition_id, code, laterality, description in codes:
        assert code_set.is_valid(code), (condition_id, code)
        assert code_set.is_billable(code), (condition_id, code)
        assert description == code_set.description(code), (condition_id, code)
        assert laterality == code_set.side(code), (condition_id, code)


def test_no_catalog_entry_still_asks_to_be_verified() -> None:
    raw = packaged_documents()["conditions"].decode()
    assert '"verify"' not in raw


def test_m53_3_is_coccygodynia_and_not_the_si_joint(catalog: Catalog, code_set: CodeSet) -> None:
    assert code_set.description("M53.3") == "Sacrococcygeal disorders, not elsewhere classified"
    found = catalog.find_code("M53.3")
    assert found is not None and found[0].id == "coccydynia"
    si = {c.code for c in catalog.condition("sacroiliac-joint-dysfunction").codes}
    assert si == {"M46.1", "S33.6XXA", "S33.6XXD", "M53.2X8"}


@pytest.mark.parametrize(
    ("parent", "children"),
    [
        ("M51.36", {"M51.360", "M51.361", "M51.362", "M51.369"}),
        ("M51.37", {"M51.370", "M51.371", "M51.372", "M51.379"}),
        ("M54.5", {"M54.50", "M54.51", "M54.59"}),
        ("S73.10", {"S73.101", "S73.102", "S73.109"}),
        ("O26.89", {"O26.891", "O26.892", "O26.893", "O26.899"}),
        ("O99.89", {"O99.891", "O99.892", "O99.893"}),
    ],
)
def test_parents_are_not_billable_and_the_catalog_uses_their_children(
    catalog: Catalog, code_set: CodeSet, parent: str, children: set[str]
) -> None:
    assert code_set.is_valid(parent) and not code_set.is_billable(parent)
    assert set(code_set.children(parent)) == children
    assert catalog.find_code(parent) is None
    listed = {code for _, code, _, _ in all_codes(catalog)}
    assert listed & {c for c in listed if any(c.startswith(child) for child in children)}


def test_s73_10xa_does_not_exist(code_set: CodeSet) -> None:
    assert not code_set.is_valid("S73.10XA")
    assert code_set.is_billable("S73.101A") and code_set.is_billable("S73.109A")


@pytest.mark.parametrize(
    ("region", "codes"),
    [
        ("neck", {"M54.2", "M54.12", "M50.122", "M47.812", "S16.1XXA"}),
        ("shoulder", {"M75.121", "M75.01", "M75.41", "M25.511", "S46.011A"}),
        ("knee", {"M17.11", "M22.2X1", "S83.241A", "S83.511A", "M25.561", "Z47.1"}),
    ],
)
def test_neck_shoulder_and_knee_conditions_are_in_the_catalog(
    catalog: Catalog, region: str, codes: set[str]
) -> None:
    for code in codes:
        found = catalog.find_code(code)
        assert found is not None, code
        assert found[0].region == region, code
