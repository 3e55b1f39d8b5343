from __future__ import annotations

import hashlib
import hmac
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
    Addendum,
    Signature,
    add_addendum,
    canonical_json,
    content_hash,
    sign,
    tampering,
    verify,
)
from telehealth.notes.rules import validate_note_content
from telehealth.seals import SealKeyError, SealKeys, derived_keys, parse_seal_keys
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


def _keys(raw: str) -> SealKeys:
    keys = parse_seal_keys(raw)
    assert keys is not None
    return keys


KEYS = _keys("k2:" + "b" * 40 + ",k1:" + "a" * 40)
RECORD = "note:n-1:appointment:a-1:patient:p-1"


def _sign(content: Any, at: datetime = SIGNED_AT, keys: SealKeys = KEYS) -> Signature:
    return sign(content, "therapist-1", at, keys, RECORD)


def _addendum(
    signature: Signature, previous: Addendum | None = None, text: str = "Patient called."
) -> Addendum:
    return add_addendum(
        signature, previous, "therapist-1", SIGNED_AT + timedelta(hours=1), "late entry", text, KEYS
    )


def test_sign_records_the_content_hash_utc_time_and_current_key(catalog: Catalog) -> None:
    note = validate_note_content(daily_note(), catalog)
    local = SIGNED_AT.astimezone(timezone(timedelta(hours=2)))
    signature = _sign(note, local)
    assert signature.content_hash == content_hash(note)
    assert signature.signed_at == SIGNED_AT and signature.signed_at.tzinfo == UTC
    assert signature.key_id == "k2"
    assert verify(note, signature, [], KEYS)


def test_the_seal_is_an_hmac_over_the_documented_message(catalog: Catalog) -> None:
    # Written out: changing the message would make every stored seal fail verification.
    note = validate_note_content(daily_note(), catalog)
    signature = _sign(note)
    message = (
        '{"content_hash":"' + content_hash(note) + '","record":"' + RECORD + '",'
        '"signed_at":"2026-03-02T15:30:00.000000Z","signer_id":"therapist-1","v":1}'
    )
    expected = hmac.new(b"b" * 40, message.encode(), hashlib.sha256).hexdigest()
    assert signature.seal == expected


def test_signing_needs_an_aware_time(catalog: Catalog) -> None:
    with pytest.raises(InvalidInput):
        _sign({"a": 1}, datetime(2026, 1, 1))


def test_verify_detects_tampered_content(catalog: Catalog) -> None:
    note = validate_note_content(daily_note(), catalog)
    signature = _sign(note)
    edited = note.model_copy(update={"pain_after": 2})
    assert not verify(edited, signature, [], KEYS)
    assert tampering(edited, signature, [], KEYS) == ["content does not match the signed hash"]


def test_verify_detects_a_forged_signer_time_or_record(catalog: Catalog) -> None:
    note = validate_note_content(daily_note(), catalog)
    signature = _sign(note)
    assert not verify(note, replace(signature, signer_id="therapist-2"), [], KEYS)
    assert not verify(note, replace(signature, signed_at=SIGNED_AT + timedelta(days=1)), [], KEYS)
    moved = replace(signature, record="note:n-1:appointment:a-1:patient:p-2")
    assert not verify(note, moved, [], KEYS)


def test_a_seal_recomputed_without_the_key_does_not_verify(catalog: Catalog) -> None:
    # What someone with only the database can do: rewrite the content and every hash they can make.
    note = validate_note_content(daily_note(), catalog)
    edited = note.model_copy(update={"pain_after": 0})
    attacker_keys = _keys("k2:" + "x" * 40)
    forged = _sign(edited, keys=attacker_keys)
    assert tampering(edited, forged, [], KEYS) == [
        "signature does not match its seal (signer, time, content and record)"
    ]
    unkeyed = replace(forged, key_id=None, seal=content_hash({"content_hash": forged.content_hash}))
    assert tampering(edited, unkeyed, [], KEYS) == [
        "signature was sealed without a key, so it cannot be verified"
    ]


def test_old_keys_verify_and_unknown_keys_are_named(catalog: Catalog) -> None:
    note = validate_note_content(daily_note(), catalog)
    old_only = _keys("k1:" + "a" * 40)
    signed_with_k1 = _sign(note, keys=old_only)
    assert signed_with_k1.key_id == "k1"
    assert verify(note, signed_with_k1, [], KEYS)  # rotated: k2 signs now, k1 still verifies
    retired = _keys("k3:" + "c" * 40)
    assert tampering(note, signed_with_k1, [], retired) == [
        "signature sealed with an unknown key 'k1' (signer, time, content and record)"
    ]


def test_addenda_chain_to_each_other_and_detect_tampering(catalog: Catalog) -> None:
    note = validate_note_content(daily_note(), catalog)
    signature = _sign(note)
    first = _addendum(signature)
    second = _addendum(signature, first, "Second call.")
    third = _addendum(signature, second, "Third call.")
    assert first.parent_hash == signature.seal
    assert second.parent_hash == first.hash and third.parent_hash == second.hash
    assert verify(note, signature, [first, second, third], KEYS)
    assert not verify(note, signature, [replace(first, text="Patient did not call.")], KEYS)
    assert not verify(note, signature, [replace(first, reason="correction")], KEYS)
    assert not verify(note, signature, [replace(first, author_id="admin")], KEYS)
    # One removed from the middle, or two swapped, breaks the chain of the next.
    assert tampering(note, signature, [first, third], KEYS) == [
        "addendum 1 is out of its chain (one before it is missing, or it belongs to other content)"
    ]
    # Listed in another order (same written_at), the chain still orders them.
    assert verify(note, signature, [second, third, first], KEYS)
    other = _sign({"different": "note"})
    moved = _addendum(other)
    assert not verify(note, signature, [moved], KEYS)


def test_an_addendum_needs_a_reason_and_text(catalog: Catalog) -> None:
    signature = _sign({"a": 1})
    with pytest.raises(InvalidInput):
        add_addendum(signature, None, "therapist-1", SIGNED_AT, " ", "text", KEYS)
    with pytest.raises(InvalidInput):
        add_addendum(signature, None, "therapist-1", SIGNED_AT, "reason", "", KEYS)


def test_seal_keys_setting_is_checked() -> None:
    for raw in (
        "k1",
        "k1:short",
        ":" + "a" * 40,
        "k 1:" + "a" * 40,
        f"k1:{'a' * 40},k1:{'b' * 40}",
    ):
        with pytest.raises(SealKeyError):
            parse_seal_keys(raw)
    assert parse_seal_keys(" ") is None
    derived = derived_keys("s" * 48)
    assert derived.current_id.startswith("k") and derived_keys("s" * 48) == derived
    assert derived_keys("t" * 48).current_id != derived.current_id
