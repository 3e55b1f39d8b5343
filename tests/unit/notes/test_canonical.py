from __future__ import annotations

import json
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telehealth.catalog import Catalog
from telehealth.errors import InvalidInput
from telehealth.notes.canonical import (
    add_addendum,
    canonical_json,
    content_hash,
    sign,
    tampering,
    verify,
)
from telehealth.notes.rules import validate_note_content
from tests.unit.notes.samples import daily_note

SIGNED_AT = datetime(2026, 3, 2, 15, 30, tzinfo=UTC)


def test_canonical_json_is_compact_sorted_and_utf8() -> None:
    text = canonical_json({"b": 1, "a": ["é", None, True], "t": SIGNED_AT})
    assert text == '{"a":["é",null,true],"b":1,"t":"2026-03-02T15:30:00.000000Z"}'


def test_times_are_rendered_in_utc_whatever_their_offset() -> None:
    eastern = SIGNED_AT.astimezone(timezone(timedelta(hours=-5)))
    assert canonical_json({"t": eastern}) == canonical_json({"t": SIGNED_AT})


def test_naive_times_and_floats_have_no_canonical_form() -> None:
    with pytest.raises(InvalidInput):
        canonical_json({"t": datetime(2026, 3, 2, 15, 30)})
    with pytest.raises(InvalidInput):
        canonical_json({"pain": 4.5})


def test_keys_that_collide_after_normalization_are_refused() -> None:
    with pytest.raises(InvalidInput):
        canonical_json({"caf\u00e9": 1, "cafe\u0301": 2})


def test_hash_is_stable_across_key_order(catalog: Catalog) -> None:
    note = validate_note_content(daily_note(), catalog)
    dumped = note.model_dump(mode="json")
    reordered = json.loads(json.dumps(dumped, sort_keys=True))
    reversed_keys = dict(reversed(list(dumped.items())))
    assert content_hash(note) == content_hash(dumped) == content_hash(reordered)
    assert content_hash(reversed_keys) == content_hash(note)
    assert len(content_hash(note)) == 64


@pytest.mark.parametrize("form", ["NFC", "NFD"])
def test_hash_is_stable_across_unicode_normalization_forms(
    form: Literal["NFC", "NFD"], catalog: Catalog
) -> None:
    raw = daily_note()
    composed = content_hash(validate_note_content(raw, catalog))
    raw["assessment"] = unicodedata.normalize(form, raw["assessment"])
    raw["diagnoses"][0] = {
        unicodedata.normalize(form, k): v for k, v in raw["diagnoses"][0].items()
    }
    if form == "NFD":
        assert raw["assessment"] != daily_note()["assessment"], "the sample must hold an accent"
    assert content_hash(validate_note_content(raw, catalog)) == composed


def test_nfd_and_nfc_text_hash_alike_outside_notes_too() -> None:
    word = "Café Olé"
    nfd = unicodedata.normalize("NFD", word)
    assert nfd != word
    assert content_hash({"t": nfd, nfd: 1}) == content_hash({"t": word, word: 1})


json_leaf = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=12)
json_value = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=6), json_value, min_size=1, max_size=5), st.data())
def test_any_change_to_content_changes_the_hash(value: dict[str, Any], data: st.DataObject) -> None:
    changed = dict(value)
    key = data.draw(st.sampled_from(sorted(changed)))
    replacement = data.draw(
        json_value.filter(lambda v: canonical_json(v) != canonical_json(value[key]))
    )
    changed[key] = replacement
    assert content_hash(changed) != content_hash(value)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=6), json_value, max_size=5))
def test_canonical_json_round_trips_to_equal_nfc_content(value: dict[str, Any]) -> None:
    text = canonical_json(value)
    assert canonical_json(json.loads(text)) == text


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["subjective", "objective", "assessment", "plan", "patient_message"]),
    st.text(min_size=1, max_size=40),
)
def test_editing_any_note_section_changes_the_hash(
    catalog: Catalog, section: str, extra: str
) -> None:
    raw = daily_note()
    before = content_hash(validate_note_content(raw, catalog))
    raw[section] = raw[section] + "\u00a0" + extra
    assert content_hash(validate_note_content(raw, catalog)) != before


def test_sign_records_the_content_hash_and_utc_time(catalog: Catalog) -> None:
    note = validate_note_content(daily_note(), catalog)
    local = SIGNED_AT.astimezone(timezone(timedelta(hours=2)))
    signature = sign(note, "therapist-1", local)
    assert signature.content_hash == content_hash(note)
    assert signature.signed_at == SIGNED_AT and signature.signed_at.tzinfo == UTC
    assert verify(note, signature)


def test_signing_needs_an_aware_time(catalog: Catalog) -> None:
    with pytest.raises(InvalidInput):
        sign({"a": 1}, "therapist-1", datetime(2026, 1, 1))


def test_verify_detects_tampered_content(catalog: Catalog) -> None:
    note = validate_note_content(daily_note(), catalog)
    signature = sign(note, "therapist-1", SIGNED_AT)
    edited = note.model_copy(update={"pain_after": 2})
    assert not verify(edited, signature)
    assert tampering(edited, signature) == ["content does not match the signed hash"]


def test_verify_detects_a_forged_signer_or_time(catalog: Catalog) -> None:
    note = validate_note_content(daily_note(), catalog)
    signature = sign(note, "therapist-1", SIGNED_AT)
    assert not verify(note, replace(signature, signer_id="therapist-2"))
    assert not verify(note, replace(signature, signed_at=SIGNED_AT + timedelta(days=1)))


def test_addenda_chain_to_the_signed_note_and_detect_tampering(catalog: Catalog) -> None:
    note = validate_note_content(daily_note(), catalog)
    signature = sign(note, "therapist-1", SIGNED_AT)
    addendum = add_addendum(
        signature, "therapist-1", SIGNED_AT + timedelta(hours=1), "late entry", "Patient called."
    )
    assert addendum.parent_hash == signature.content_hash
    assert verify(note, signature, [addendum])
    assert not verify(note, signature, [replace(addendum, text="Patient did not call.")])
    assert not verify(note, signature, [replace(addendum, reason="correction")])
    assert not verify(note, signature, [replace(addendum, author_id="admin")])
    other = sign({"different": "note"}, "therapist-1", SIGNED_AT)
    moved = add_addendum(other, "therapist-1", SIGNED_AT, "late entry", "Patient called.")
    assert tampering(note, signature, [moved]) == ["addendum 0 belongs to other content"]


def test_an_addendum_needs_a_reason_and_text(catalog: Catalog) -> None:
    signature = sign({"a": 1}, "therapist-1", SIGNED_AT)
    with pytest.raises(InvalidInput):
        add_addendum(signature, "therapist-1", SIGNED_AT, " ", "text")
    with pytest.raises(InvalidInput):
        add_addendum(signature, "therapist-1", SIGNED_AT, "reason", "")
