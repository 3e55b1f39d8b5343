"""The code-set wrapper: validity, billable leaves, search, Excludes1, 7th characters, sides."""

from __future__ import annotations

import pytest

from telehealth.catalog import Catalog
from telehealth.catalog.diagnoses import search_diagnoses
from telehealth.catalog.icd10cm import CodeSet


@pytest.mark.parametrize(
    ("code", "valid", "billable"),
    [
        ("M54.50", True, True),
        ("M54.5", True, False),
        ("M54", True, False),
        ("S73.101A", True, True),
        ("S73.101", True, False),
        ("S73.10XA", False, False),
        ("M5450", False, False),  # the notes store codes with their dot
        ("M50-M54", False, False),  # a block, not a code
        ("13", False, False),  # a chapter
        ("m54.50", False, False),
    ],
)
def test_validity_and_billable_leaves(
    code_set: CodeSet, code: str, valid: bool, billable: bool
) -> None:
    assert code_set.is_valid(code) is valid
    assert code_set.is_billable(code) is billable
    assert (code_set.description(code) is not None) is valid


def test_search_by_code_prefix_with_or_without_the_dot(code_set: CodeSet) -> None:
    for query in ("M54.5", "m545", "M54.5 "):
        hits = code_set.search(query, 10)
        assert [h.code for h in hits] == ["M54.5", "M54.50", "M54.51", "M54.59"]
        assert [h.billable for h in hits] == [False, True, True, True]


def test_search_by_words_needs_every_word_in_any_case(code_set: CodeSet) -> None:
    hits = code_set.search("Adhesive CAPSULITIS left", 10)
    assert [h.code for h in hits] == ["M75.02"]
    both = code_set.search("right knee pain", 10)
    assert "M25.561" in [h.code for h in both]
    assert all("right" in h.description.lower() for h in both)
    assert code_set.search("knee zzzz", 10) == []


def test_search_finds_inclusion_terms_and_word_starts(code_set: CodeSet) -> None:
    assert "M53.3" in [h.code for h in code_set.search("coccygodynia", 5)]
    assert "M75.01" in [h.code for h in code_set.search("frozen shoulder right", 5)]
    assert "M17.11" in [h.code for h in code_set.search("osteoarth right kne", 20)]


def test_search_honours_the_limit_and_puts_billable_titles_first(code_set: CodeSet) -> None:
    hits = code_set.search("knee", 7)
    assert len(hits) == 7
    assert all(h.billable for h in hits)


def test_excludes1_walks_up_to_the_category_note(code_set: CodeSet) -> None:
    note = code_set.excludes1_pair("M54.50", "M51.360")
    assert note is not None and note.noted_at == "M54.5"
    assert "M51.360" in note.text
    assert code_set.excludes1_pair("M51.370", "M54.59") is not None
    assert code_set.excludes1_pair("M54.59", "M54.41") is not None  # M54.5 Excludes1 M54.4-
    assert code_set.excludes1_pair("M54.2", "M50.122") is not None  # M54.2 Excludes1 M50.-
    assert code_set.excludes1_pair("M54.50", "M51.362") is None  # not in the M54.5 note
    assert code_set.excludes1_pair("M16.11", "M54.50") is None


def test_seventh_character(code_set: CodeSet) -> None:
    assert code_set.needs_seventh_character("S73.101")
    assert code_set.needs_seventh_character("S33.6")  # S33.6XXA: placeholders then the 7th
    assert dict(code_set.seventh_characters("S83.511")) == {
        "A": "initial encounter",
        "D": "subsequent encounter",
        "S": "sequela",
    }
    assert not code_set.needs_seventh_character("S73.10")  # a 6th character comes first
    assert not code_set.needs_seventh_character("S73.101A")
    assert not code_set.needs_seventh_character("M54.5")


@pytest.mark.parametrize(
    ("code", "side", "right", "left"),
    [
        ("M17.10", "unspecified", "M17.11", "M17.12"),
        ("M17.12", "left", "M17.11", "M17.12"),
        ("S73.109A", "unspecified", "S73.101A", "S73.102A"),
        ("S83.519D", "unspecified", "S83.511D", "S83.512D"),
        ("M22.2X9", "unspecified", "M22.2X1", "M22.2X2"),
        ("M54.30", "unspecified", "M54.31", "M54.32"),
        ("G57.03", "bilateral", "G57.01", "G57.02"),
        ("M54.50", None, None, None),
        ("S39.012D", None, None, None),
    ],
)
def test_laterality(
    code_set: CodeSet, code: str, side: str | None, right: str | None, left: str | None
) -> None:
    assert code_set.side(code) == side
    assert code_set.has_laterality(code) is (right is not None)
    assert code_set.sided_variant(code, "right") == right
    assert code_set.sided_variant(code, "left") == left


def test_the_clinics_codes_come_first_and_match_its_own_names(catalog: Catalog) -> None:
    hits = search_diagnoses(catalog, "knee", 50)
    favourites = [h for h in hits if h.favourite]
    assert favourites and hits[: len(favourites)] == favourites
    assert any(not h.favourite for h in hits)
    assert all(h.condition_id for h in favourites)
    # "sacroiliac joint dysfunction" is the clinic's name; the code titles say "sacroiliitis".
    si = search_diagnoses(catalog, "sacroiliac joint dysfunction", 10)
    assert "M46.1" in [h.code for h in si if h.favourite]
    # Nothing twice, and a favourite keeps its code-set title and billable flag.
    codes = [h.code for h in search_diagnoses(catalog, "M17", 50)]
    assert len(codes) == len(set(codes))
    first = search_diagnoses(catalog, "M17.11", 5)[0]
    assert (first.code, first.favourite, first.billable) == ("M17.11", True, True)
